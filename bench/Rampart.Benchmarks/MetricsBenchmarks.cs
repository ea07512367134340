using System.Diagnostics;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Audit;
using Rampart.Data;
using Rampart.Hosting;
using Rampart.Operations;
using Rampart.Routing;

namespace Rampart.Benchmarks;

/// <summary>
/// What metrics add to one request on the hot path, with the <c>/metrics</c> collector listening: the request's
/// counters and histograms from its audit record (a streamed, successful chat completion with usage), and one
/// upstream call.
/// </summary>
[MemoryDiagnoser]
public class MetricsBenchmarks
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rampart-bench-metrics-" + Guid.NewGuid().ToString("N"));
    private ServiceProvider _services = null!;
    private GatewayMetrics _metrics = null!;
    private MetricsCollector _collector = null!;
    private AuditRecord _record = null!;
    private long _started;

    [GlobalSetup]
    public void Setup()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["RAMPART_DATA_DIR"] = _dir }).Build();
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var writer = new AuditWriter(new AuditStore(Db.FromConfiguration(configuration)), new AuditSpool(_dir), configuration, NullLogger<AuditWriter>.Instance);
        _metrics = new GatewayMetrics(_services.GetRequiredService<IMeterFactory>(), writer, new Admission(configuration),
            new CircuitBreakers(configuration, TimeProvider.System, NullLogger<CircuitBreakers>.Instance));
        _collector = new MetricsCollector(_metrics.Meter);
        _record = new AuditRecord
        {
            Id = "req_bench",
            Endpoint = "POST /api/v1/chat/completions",
            Workspace = "team-a",
            Provider = "openai",
            ServedModel = "gpt-4o-mini",
            Status = 200,
            Outcome = AuditOutcomes.Ok,
            Stream = true,
            PromptTokens = 120,
            CompletionTokens = 340,
            LatencyMs = 812.5,
            TtftMs = 95.2,
        };
        _started = Stopwatch.GetTimestamp();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _collector.Dispose();
        _services.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Everything recorded for one request: its completion (5 instruments) and one upstream call.</summary>
    [Benchmark]
    public void OneRequest()
    {
        _metrics.UpstreamCall("openai", _started, null);
        _metrics.RequestCompleted(_record);
    }
}
