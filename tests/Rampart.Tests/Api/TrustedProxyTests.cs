using System.Net;
using Rampart.Hosting;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

/// <summary>A gateway behind a proxy on loopback, which it is told to trust.</summary>
public sealed class TrustedProxyGatewayFixture : GatewayFixture
{
    protected override void Configure(Dictionary<string, string?> settings) => settings[TrustedProxies.Setting] = "127.0.0.0/8, ::1";
}

[CollectionDefinition(Name)]
public sealed class TrustedProxyGatewayTests : ICollectionFixture<TrustedProxyGatewayFixture>
{
    public const string Name = "trusted proxy gateway";
}

/// <summary>
/// <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are believed only from the proxies in
/// <c>RAMPART_TRUSTED_PROXIES</c>, hop by hop; otherwise the audit log keeps the connection's own address.
/// </summary>
[Collection(TrustedProxyGatewayTests.Name)]
public sealed class TrustedProxyTests(TrustedProxyGatewayFixture gateway)
{
    [Theory]
    [InlineData("198.51.100.7", "198.51.100.7")]
    // A caller's own X-Forwarded-For, with the proxy's entry after it: the chain stops at the first address not trusted.
    [InlineData("203.0.113.9, 198.51.100.7", "198.51.100.7")]
    // Hops through further trusted proxies are walked back over.
    [InlineData("198.51.100.7, 127.0.0.5", "198.51.100.7")]
    public async Task FromATrustedProxy_TheAuditLogKeepsTheCallersAddress(string forwardedFor, string expected)
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);
        http.DefaultRequestHeaders.Add("X-Forwarded-For", forwardedFor);

        using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, await ClientIpAsync(gateway, response));
    }

    [Fact]
    public async Task ForwardedHttps_MakesTheDashboardCookiesSecure()
    {
        // Separate clients: each gets the antiforgery cookie issued afresh.
        using var first = gateway.Http();
        using var second = gateway.Http();
        using var plain = await first.GetAsync("/dashboard/sign-in");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/dashboard/sign-in") { Headers = { { "X-Forwarded-Proto", "https" } } };
        using var forwarded = await second.SendAsync(request);

        Assert.DoesNotContain(plain.Headers.GetValues("Set-Cookie"), c => c.Contains("secure", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(forwarded.Headers.GetValues("Set-Cookie"), c => c.Contains("secure", StringComparison.OrdinalIgnoreCase));
    }

    internal static Task<string?> ClientIpAsync(GatewayFixture gateway, HttpResponseMessage response) =>
        gateway.AuditColumnAsync<string?>(response, "client_ip");
}

/// <summary>Without <c>RAMPART_TRUSTED_PROXIES</c> (the default), the headers change nothing.</summary>
[Collection(GatewayTests.Name)]
public sealed class UntrustedForwardedHeadersTests(GatewayFixture gateway)
{
    [Fact]
    public async Task ByDefault_ForwardedHeadersAreIgnored()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);
        http.DefaultRequestHeaders.Add("X-Forwarded-For", "198.51.100.7");
        http.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");

        using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker()));
        using var page = await http.GetAsync("/dashboard/sign-in");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("127.0.0.1", await TrustedProxyTests.ClientIpAsync(gateway, response));
        Assert.DoesNotContain(page.Headers.GetValues("Set-Cookie"), c => c.Contains("secure", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("10.0.0.0/8, 192.0.2.7;2001:db8::/32 ::1", 4)]
    [InlineData("", 0)]
    public void Setting_ListsAddressesAndNetworks(string value, int count) => Assert.Equal(count, TrustedProxies.Parse(value).Count);

    [Theory]
    [InlineData("nginx")]
    [InlineData("10.0.0.0/33")]
    public void Setting_WithSomethingElse_StopsTheStartWithAMessageNamingIt(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => TrustedProxies.Parse(value));
        Assert.Contains($"RAMPART_TRUSTED_PROXIES", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", error.Message, StringComparison.Ordinal);
    }
}
