namespace Rampart.Hosting;

/// <summary>
/// Kestrel's limits, chosen for a gateway rather than left to defaults: bodies big enough for image-bearing chat
/// requests but bounded, a short window for request headers (slow-header attacks), no server banner, and no cap on
/// connections unless the operator sets one (every open stream holds one, and 10,000 of them is a normal day).
/// </summary>
internal static class ServerLimits
{
    public const int DefaultMaxRequestBodyMegabytes = 32;

    public static WebApplicationBuilder UseServerLimits(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var bodyMegabytes = configuration.GetValue("RAMPART_MAX_REQUEST_BODY_MB", DefaultMaxRequestBodyMegabytes);
        var maxConnections = configuration.GetValue<long?>("RAMPART_MAX_CONNECTIONS");
        if (bodyMegabytes is < 1 or > 1024)
        {
            throw new InvalidOperationException($"RAMPART_MAX_REQUEST_BODY_MB must be between 1 and 1024 (megabytes); it is {bodyMegabytes}.");
        }

        if (maxConnections is < 1)
        {
            throw new InvalidOperationException($"RAMPART_MAX_CONNECTIONS must be at least 1, or unset for no limit; it is {maxConnections}.");
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = bodyMegabytes * 1024L * 1024L;
            kestrel.Limits.MaxConcurrentConnections = maxConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = maxConnections;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(15);
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            // A caller that trickles its body slower than this is dropped (408) instead of holding a connection.
            kestrel.Limits.MinRequestBodyDataRate = new(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));
        });
        return builder;
    }
}
