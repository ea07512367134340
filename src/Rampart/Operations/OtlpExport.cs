using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Rampart.Operations;

/// <summary>
/// Optional push of the same <c>Rampart</c> meter, and of ASP.NET Core's request spans, to an OpenTelemetry collector
/// over OTLP, when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. Built with the SDK builders directly (the hosting
/// integration package is not available here); the providers flush once more when the gateway stops.
/// </summary>
internal sealed partial class OtlpExport(OtlpSettings settings, ILogger<OtlpExport> logger) : IHostedService
{
    private MeterProvider? _meters;
    private TracerProvider? _tracer;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var resource = ResourceBuilder.CreateDefault().AddService(settings.ServiceName);
        _meters = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(GatewayMetrics.MeterName)
            .AddOtlpExporter((exporter, reader) =>
            {
                settings.Apply(exporter, "v1/metrics");
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = settings.MetricIntervalMilliseconds;
            })
            .Build();
        if (settings.Traces)
        {
            _tracer = Sdk.CreateTracerProviderBuilder()
                .SetResourceBuilder(resource)
                .AddSource("Microsoft.AspNetCore")
                .AddProcessor(new SafeSpanTags())
                .AddOtlpExporter(exporter => settings.Apply(exporter, "v1/traces"))
                .Build();
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        // Telemetry must never fail a shutdown: the SDK's provider disposal has been seen to throw (a race inside
        // TracerProviderSdk.Dispose), and a throwing stop would hide the drain and audit flush around it.
        Dispose(_tracer, "traces");
        Dispose(_meters, "metrics");
        return Task.CompletedTask;
    }

    private void Dispose(IDisposable? provider, string signal)
    {
        try
        {
            provider?.Dispose();
        }
        catch (Exception ex)
        {
            LogDisposeFailed(logger, ex, signal);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The OTLP {Signal} exporter failed while stopping; its last export may be lost")]
    private static partial void LogDisposeFailed(ILogger logger, Exception exception, string signal);

    /// <summary>
    /// Keeps only the span tags that cannot carry what a caller typed: method, route template, status. A URL's path
    /// and query (a dashboard filter by e-mail, a model name) are dropped; the request id is added for joining with
    /// the audit log.
    /// </summary>
    private sealed class SafeSpanTags : BaseProcessor<Activity>
    {
        private static readonly HashSet<string> Allowed = new(StringComparer.Ordinal)
        {
            "http.request.method", "http.route", "http.response.status_code", "network.protocol.version", "url.scheme", "error.type", RequestIdTag,
        };

        private const string RequestIdTag = "rampart.request_id";

        public override void OnEnd(Activity data)
        {
            foreach (var tag in data.TagObjects.ToList())
            {
                if (!Allowed.Contains(tag.Key))
                {
                    data.SetTag(tag.Key, null);
                }
            }
        }
    }
}

/// <summary>The standard OpenTelemetry environment variables Rampart honours (read through configuration).</summary>
internal sealed record OtlpSettings(Uri Endpoint, OtlpExportProtocol Protocol, string? Headers, string ServiceName, int MetricIntervalMilliseconds, bool Traces)
{
    public static OtlpSettings? From(IConfiguration configuration)
    {
        if (configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is not { Length: > 0 } endpoint)
        {
            return null;
        }

        if (!Uri.TryCreate(endpoint.TrimEnd('/') + "/", UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
        {
            throw new InvalidOperationException($"OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL such as http://collector:4318 (got '{endpoint}').");
        }

        var protocol = configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] switch
        {
            null or "" or "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            "grpc" => OtlpExportProtocol.Grpc,
            var other => throw new InvalidOperationException($"OTEL_EXPORTER_OTLP_PROTOCOL must be 'http/protobuf' or 'grpc' (got '{other}')."),
        };
        var interval = configuration.GetValue("OTEL_METRIC_EXPORT_INTERVAL", 60_000);
        return new OtlpSettings(baseUri, protocol, configuration["OTEL_EXPORTER_OTLP_HEADERS"], configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : "rampart",
            Math.Max(100, interval), !string.Equals(configuration["OTEL_TRACES_EXPORTER"], "none", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Over HTTP each signal has its own path under the base URL (as the OTLP specification has it); gRPC takes the base.</summary>
    public void Apply(OtlpExporterOptions exporter, string signalPath)
    {
        exporter.Protocol = Protocol;
        exporter.Endpoint = Protocol == OtlpExportProtocol.HttpProtobuf ? new Uri(Endpoint, signalPath) : Endpoint;
        if (!string.IsNullOrEmpty(Headers))
        {
            exporter.Headers = Headers;
        }
    }
}
