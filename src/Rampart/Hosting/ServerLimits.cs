namespace Rampart.Hosting;

/// <summary>
/// Kestrel's limits, chosen for a gateway rather than left to defaults: bodies big enough for image-bearing chat
/// requests but bounded, a short window for request headers (slow-header attacks), no server banner, connections
/// capped by what the process's open-files limit can serve (every open stream holds one, and 10,000 of them is a normal
/// day: raise the limit rather than lower this); and
/// <see cref="Admission"/>, which bounds how many chat requests are prepared at once; and
/// <see cref="StartupThreads"/>, the thread pool's allowance for a process that takes traffic as soon as it starts.
/// </summary>
internal static class ServerLimits
{
    public const int DefaultMaxRequestBodyMegabytes = 32;

    public static WebApplicationBuilder UseServerLimits(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var bodyMegabytes = configuration.GetValue("RAMPART_MAX_REQUEST_BODY_MB", DefaultMaxRequestBodyMegabytes);
        var maxConnections = configuration.GetValue<long?>("RAMPART_MAX_CONNECTIONS") ?? DefaultMaxConnections(OpenFilesLimit());
        if (bodyMegabytes is < 1 or > 1024)
        {
            throw new InvalidOperationException($"RAMPART_MAX_REQUEST_BODY_MB must be between 1 and 1024 (megabytes); it is {bodyMegabytes}.");
        }

        if (maxConnections is < 1)
        {
            throw new InvalidOperationException($"RAMPART_MAX_CONNECTIONS must be at least 1, or unset for the default; it is {maxConnections}.");
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

        // Built here so that a bad setting stops the start, like the limits above.
        builder.Services.AddSingleton(new Admission(configuration));
        builder.Services.AddHostedService<StartupThreads>();
        return builder;
    }

    /// <summary>Open files kept for the gateway's own use: databases, the audit spool, logs, DNS, PostgreSQL pools.</summary>
    public const int ReservedFiles = 1024;

    /// <summary>
    /// Without a setting, as many connections as the open-files limit can serve: a chat request holds its caller's
    /// socket and, over HTTP/1.1, one to its provider, so half of what is left after <see cref="ReservedFiles"/>. Running
    /// out of descriptors does not fail one request but the process (the database cannot be opened, the runtime aborts
    /// with "Out of memory." — measured under a burst), so beyond this Kestrel closes new connections instead.
    /// Null (no cap) when the limit is unknown or unlimited.
    /// </summary>
    internal static long? DefaultMaxConnections(long? openFilesLimit) =>
        openFilesLimit is { } limit ? Math.Max(64, (limit - ReservedFiles) / 2) : null;

    /// <summary>The process's soft open-files limit, from <c>/proc/self/limits</c> (Linux); null elsewhere or when unlimited.</summary>
    internal static long? OpenFilesLimit(string path = "/proc/self/limits")
    {
        try
        {
            return File.Exists(path) ? ParseOpenFilesLimit(File.ReadAllText(path)) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The soft limit on the "Max open files" line: <c>Max open files  20000  20000  files</c>.</summary>
    internal static long? ParseOpenFilesLimit(string limits)
    {
        foreach (var line in limits.Split('\n'))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 0 && long.TryParse(fields[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var soft) ? soft : null;
            }
        }

        return null;
    }
}
