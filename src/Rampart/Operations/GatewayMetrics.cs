using System.Diagnostics;
using System.Diagnostics.Metrics;
using Rampart.Audit;
using Rampart.Hosting;
using Rampart.Providers;

namespace Rampart.Operations;

/// <summary>
/// Rampart's instruments on the <c>Rampart</c> meter, read by <c>/metrics</c> (<see cref="MetricsCollector"/>) and, when
/// configured, by the OTLP exporter. A request is recorded once, from its finished audit record, so metrics and audit
/// always agree; upstream calls are recorded by the router, one per attempt; open streams by the SSE writer.
/// Label values come from closed sets (route kinds, outcomes, block kinds, error classes) or from configuration
/// (workspaces, providers, models) — never a key, user or anything a caller typed.
/// </summary>
internal sealed class GatewayMetrics
{
    public const string MeterName = "Rampart";

    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _timeToFirstByte;
    private readonly Histogram<double> _upstreamDuration;
    private readonly Counter<long> _upstreamErrors;
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _blocks;
    private readonly UpDownCounter<long> _activeStreams;

    public GatewayMetrics(IMeterFactory meters, AuditWriter audit, Admission admission, Routing.CircuitBreakers breakers)
    {
        Meter = meters.Create(MeterName);
        var buckets = new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets };
        _requests = Meter.CreateCounter<long>("rampart.requests", "{request}",
            "API requests answered, by route kind, status class, outcome and workspace.");
        _requestDuration = Meter.CreateHistogram("rampart.request.duration", "s",
            "Time from arrival to the end of the answer (a whole stream for streamed answers), by route kind.", advice: buckets);
        _timeToFirstByte = Meter.CreateHistogram("rampart.stream.time_to_first_byte", "s",
            "Time from arrival to the first streamed byte sent to the caller, by workspace.", advice: buckets);
        _upstreamDuration = Meter.CreateHistogram("rampart.upstream.duration", "s",
            "One provider call: until its answer, or until its stream opened; by provider.", advice: buckets);
        _upstreamErrors = Meter.CreateCounter<long>("rampart.upstream.errors", "{error}",
            "Provider calls that failed (each retry counts), and streams the provider broke off, by provider and class.");
        _tokens = Meter.CreateCounter<long>("rampart.tokens", "{token}",
            "Tokens used (as the provider reported them, else estimated), by provider, model, workspace and type (prompt or completion).");
        _blocks = Meter.CreateCounter<long>("rampart.guardrail.blocks", "{request}",
            "Requests refused by a guardrail or firewall rule, by kind.");
        _activeStreams = Meter.CreateUpDownCounter<long>("rampart.streams.active", "{stream}",
            "Streamed answers being sent right now.");
        Meter.CreateObservableGauge("rampart.audit.queue.depth", () => (long)audit.QueueDepth, "{record}",
            "Audit records waiting in memory to be written.");
        Meter.CreateObservableCounter("rampart.audit.spooled", () => audit.SpooledRecords, "{record}",
            "Audit records written to the disk spool because the database refused them or the queue was full.");
        Meter.CreateObservableGauge("rampart.admission.arriving", () => admission.Arriving, "{request}",
            "Chat requests whose bodies are still arriving; they hold no place until they have.");
        Meter.CreateObservableGauge("rampart.admission.preparing", () => admission.Preparing, "{request}",
            "Chat requests being read, parsed and scanned right now (at most Rampart:Admission:Concurrency).");
        Meter.CreateObservableGauge("rampart.admission.queued", () => admission.Queued, "{request}",
            "Chat requests waiting for their turn to be prepared; beyond Rampart:Admission:QueueLength they get 503.");
        Meter.CreateObservableGauge("rampart.circuit_breaker.open", () => BreakerStates(breakers), "{target}",
            "1 while a provider target's circuit breaker is open or probing (requests skip it to their fallbacks), else 0; by provider and model.");
    }

    public Meter Meter { get; }

    /// <summary>One finished API request, as its audit record has it.</summary>
    public void RequestCompleted(AuditRecord record)
    {
        var route = RouteKind(record.Endpoint);
        var workspace = record.Workspace ?? "";
        _requests.Add(1, new TagList
        {
            { "route", route },
            { "status_class", StatusClass(record.Status) },
            { "outcome", record.Outcome },
            { "workspace", workspace },
        });
        _requestDuration.Record(record.LatencyMs / 1000, new KeyValuePair<string, object?>("route", route));
        if (record.TtftMs is { } ttft)
        {
            _timeToFirstByte.Record(ttft / 1000, new KeyValuePair<string, object?>("workspace", workspace));
        }

        if (record.PromptTokens is { } prompt && record.Provider is { } provider)
        {
            var model = record.ServedModel ?? "";
            _tokens.Add(prompt, Tokens(provider, model, workspace, "prompt"));
            _tokens.Add(record.CompletionTokens ?? 0, Tokens(provider, model, workspace, "completion"));
        }

        if (record.Outcome is AuditOutcomes.Blocked or AuditOutcomes.RateLimited)
        {
            _blocks.Add(1, new KeyValuePair<string, object?>("kind", BlockKind(record.ErrorCode)));
        }
        else if (record.Outcome == AuditOutcomes.StreamFailed && record.Provider is { } broken)
        {
            _upstreamErrors.Add(1, new KeyValuePair<string, object?>("provider", broken), new KeyValuePair<string, object?>("class", "stream_broken"));
        }
    }

    /// <summary>One call to a provider, from <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp) until it answered or failed.</summary>
    public void UpstreamCall(string provider, long started, UpstreamError? error)
    {
        var providerTag = new KeyValuePair<string, object?>("provider", provider);
        _upstreamDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, providerTag);
        if (error is not null)
        {
            _upstreamErrors.Add(1, providerTag, new KeyValuePair<string, object?>("class", ErrorClass(error)));
        }
    }

    private static IEnumerable<Measurement<long>> BreakerStates(Routing.CircuitBreakers breakers)
    {
        foreach (var (target, open) in breakers.States())
        {
            yield return new Measurement<long>(open ? 1 : 0,
                new KeyValuePair<string, object?>("provider", target.Provider), new KeyValuePair<string, object?>("model", target.Model));
        }
    }

    public void StreamOpened() => _activeStreams.Add(1);

    public void StreamClosed() => _activeStreams.Add(-1);

    private static TagList Tokens(string provider, string model, string workspace, string type) => new()
    {
        { "provider", provider },
        { "model", model },
        { "workspace", workspace },
        { "type", type },
    };

    /// <summary>The API's routes grouped into a few kinds; the raw path is never a label.</summary>
    internal static string RouteKind(string? endpoint) => endpoint switch
    {
        null => "unmatched",
        _ when endpoint.EndsWith("/chat/completions", StringComparison.Ordinal) => "chat_completions",
        _ when endpoint.Contains(" /api/v1/models", StringComparison.Ordinal) || endpoint.Contains(" /v1/models", StringComparison.Ordinal) => "models",
        _ when endpoint.EndsWith("/openapi.json", StringComparison.Ordinal) => "openapi",
        _ => "management",
    };

    internal static string StatusClass(int status) => status switch
    {
        < 200 => "1xx",
        < 300 => "2xx",
        < 400 => "3xx",
        < 500 => "4xx",
        _ => "5xx",
    };

    /// <summary>What refused the request, from its error code: a closed set, so a new code shows up as <c>other</c>.</summary>
    internal static string BlockKind(string? errorCode) => errorCode switch
    {
        "secret_detected" => "secret",
        "pii_detected" => "pii",
        "prompt_injection_detected" => "prompt_injection",
        "content_policy_violation" => "topic",
        "topic_judge_unavailable" => "topic_judge_unavailable",
        "outside_allowed_hours" => "allowed_hours",
        "rate_limit_exceeded" => "limit",
        _ => "other",
    };

    private static string ErrorClass(UpstreamError error) => error.Kind switch
    {
        UpstreamErrorKind.Rejected when error.UpstreamStatus == StatusCodes.Status429TooManyRequests => "rate_limited",
        UpstreamErrorKind.Rejected => "rejected",
        UpstreamErrorKind.Unauthorized => "unauthorized",
        UpstreamErrorKind.TimedOut => "timeout",
        UpstreamErrorKind.NotConfigured => "not_configured",
        _ => "failed",
    };
}
