using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Rampart.Operations;

/// <summary>
/// What an operator runs the gateway with: liveness and readiness probes, Prometheus metrics (and optional OTLP
/// export), the log format, and a shutdown that lets streams finish. Configuration: <c>docs/configuration.md</c>.
/// </summary>
internal static class OperationsServices
{
    public const string LogFormatSetting = "RAMPART_LOG_FORMAT";
    public const string MetricsTokenSetting = "RAMPART_METRICS_TOKEN";

    private static readonly byte[] Alive = """{"status":"ok"}"""u8.ToArray();

    public static WebApplicationBuilder AddRampartOperations(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        UseLogFormat(builder.Logging, configuration[LogFormatSetting]);

        var shutdown = ShutdownOptions.From(configuration);
        builder.Services.Configure<ShutdownOptions>(o => (o.Drain, o.Delay) = (shutdown.Drain, shutdown.Delay));
        // One budget for the whole stop: the delay, then the server's wait for requests in flight. The audit writer
        // flushes after the server has stopped, and does so even when the budget is spent.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdown.Delay + shutdown.Drain);
        builder.Services.AddHostedService<GracefulShutdown>();

        builder.Services.AddSingleton<GatewayMetrics>();
        builder.Services.AddSingleton(sp => new MetricsCollector(sp.GetRequiredService<GatewayMetrics>().Meter));
        builder.Services.AddSingleton<Readiness>();
        if (OtlpSettings.From(configuration) is { } otlp)
        {
            builder.Services.AddSingleton(otlp);
            builder.Services.AddHostedService<OtlpExport>();
        }

        return builder;
    }

    /// <summary><c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c>: outside <c>/api/v1</c>, so not audited, and without API keys.</summary>
    public static IEndpointRouteBuilder MapOperations(this IEndpointRouteBuilder endpoints)
    {
        // Created now, so that it listens from the first request on.
        var collector = endpoints.ServiceProvider.GetRequiredService<MetricsCollector>();
        var metricsToken = endpoints.ServiceProvider.GetRequiredService<IConfiguration>()[MetricsTokenSetting] is { Length: > 0 } token
            ? Encoding.UTF8.GetBytes(token)
            : null;

        endpoints.MapGet("/healthz", static (HttpContext http) =>
        {
            http.Response.ContentType = "application/json";
            http.Response.Headers.CacheControl = "no-store";
            return http.Response.Body.WriteAsync(Alive).AsTask();
        }).AllowAnonymous().ExcludeFromDescription();

        endpoints.MapGet("/readyz", static async (HttpContext http, Readiness readiness) =>
        {
            var report = await readiness.CheckAsync(http.RequestAborted);
            http.Response.StatusCode = report.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            http.Response.ContentType = "application/json";
            http.Response.Headers.CacheControl = "no-store";
            await using var json = new Utf8JsonWriter(http.Response.Body);
            json.WriteStartObject();
            json.WriteString("status", report.Ready ? "ready" : "not_ready");
            if (report.Reason is not null)
            {
                json.WriteString("reason", report.Reason);
            }

            if (report.SchemaVersion is { } version)
            {
                json.WriteNumber("schema_version", version);
            }

            json.WriteEndObject();
        }).AllowAnonymous().ExcludeFromDescription();

        endpoints.MapGet("/metrics", (HttpContext http) =>
        {
            if (metricsToken is not null && !HasBearer(http.Request, metricsToken))
            {
                http.Response.Headers.WWWAuthenticate = "Bearer";
                return Results.Text("""{"error":"a bearer token (RAMPART_METRICS_TOKEN) is required"}""", "application/json", statusCode: StatusCodes.Status401Unauthorized);
            }

            http.Response.Headers.CacheControl = "no-store";
            return Results.Text(collector.Scrape(), PrometheusTextWriter.ContentType);
        }).AllowAnonymous().ExcludeFromDescription();
        return endpoints;
    }

    /// <summary><c>text</c> (default, the console's simple format) or <c>json</c> (one JSON object per line, with scopes: the request id).</summary>
    private static void UseLogFormat(ILoggingBuilder logging, string? format)
    {
        switch (format?.Trim().ToLowerInvariant())
        {
            case null or "" or "text":
                break;
            case "json":
                logging.AddJsonConsole(o =>
                {
                    o.IncludeScopes = true;
                    o.UseUtcTimestamp = true;
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                });
                break;
            default:
                throw new InvalidOperationException($"{LogFormatSetting} must be 'text' or 'json' (got '{format}').");
        }
    }

    /// <summary>A constant-time comparison, so the token cannot be guessed byte by byte from response times.</summary>
    private static bool HasBearer(HttpRequest request, byte[] expected)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        return header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()), expected);
    }
}
