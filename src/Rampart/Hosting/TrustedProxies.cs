using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using IPNetwork = System.Net.IPNetwork;

namespace Rampart.Hosting;

/// <summary>
/// Behind a load balancer or a TLS-terminating proxy, the caller's address and the scheme it used arrive in
/// <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c>. They are believed only from the proxies listed in
/// <c>RAMPART_TRUSTED_PROXIES</c> (addresses or networks), walking back through the chain as long as each hop is one of
/// them. Unset, the headers are ignored: a caller cannot put another address in the audit log or pass for HTTPS.
/// </summary>
internal static class TrustedProxies
{
    public const string Setting = "RAMPART_TRUSTED_PROXIES";

    public static WebApplicationBuilder UseTrustedProxies(this WebApplicationBuilder builder)
    {
        var networks = Parse(builder.Configuration[Setting]);
        builder.Services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // ASP.NET Core trusts loopback by default; here only what the operator listed.
            options.KnownIPNetworks.Clear();
            options.KnownProxies.Clear();
            options.ForwardLimit = null;
            foreach (var network in networks)
            {
                options.KnownIPNetworks.Add(network);
            }
        });
        return builder;
    }

    /// <summary>First in the pipeline, so the request id, the audit log and the dashboard's cookies see the real caller.</summary>
    public static WebApplication UseTrustedProxyHeaders(this WebApplication app)
    {
        if (Parse(app.Configuration[Setting]).Count > 0)
        {
            app.UseForwardedHeaders();
        }

        return app;
    }

    /// <summary><c>10.0.0.0/8, 192.0.2.7, ::1</c>: networks and single addresses, separated by commas or spaces.</summary>
    internal static IReadOnlyList<IPNetwork> Parse(string? value)
    {
        var networks = new List<IPNetwork>();
        foreach (var item in (value ?? "").Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (IPNetwork.TryParse(item, out var network))
            {
                networks.Add(network);
            }
            else if (IPAddress.TryParse(item, out var address))
            {
                networks.Add(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            }
            else
            {
                throw new InvalidOperationException(
                    $"{Setting} must list IP addresses or networks (such as 10.0.0.0/8 or 192.0.2.7), separated by commas; '{item}' is neither.");
            }
        }

        return networks;
    }
}
