using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Audit;
using Rampart.Data;

namespace Rampart.Benchmarks;

/// <summary>The audit writer's database side: one transaction of 500 records and their usage roll-ups, in SQLite (WAL) on local disk.</summary>
[MemoryDiagnoser]
public class AuditBenchmarks
{
    private const int BatchSize = 500;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rampart-bench-audit-" + Guid.NewGuid().ToString("N"));
    private AuditStore _store = null!;
    private AuditSpool _spool = null!;
    private long _next;

    [GlobalSetup]
    public void Setup()
    {
        var db = Db.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["RAMPART_DATA_DIR"] = _dir }).Build());
        new MigrationRunner(db, NullLogger<MigrationRunner>.Instance).ApplyAsync(Rampart.Data.Migrations.Migrations.All, default).GetAwaiter().GetResult();
        _store = new AuditStore(db);
        _spool = new AuditSpool(Path.Combine(_dir, "spool"));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Per record, amortised over a batch of 500 (20 workspace/user/key/model combinations, as a busy gateway has).</summary>
    [Benchmark(OperationsPerInvoke = BatchSize)]
    public Task<int> WriteBatch() => _store.WriteAsync(Batch(), default);

    /// <summary>Per record, amortised over a batch of 500: the spool's append, forced to disk once.</summary>
    [Benchmark(OperationsPerInvoke = BatchSize)]
    public void SpoolBatch() => _spool.Append(Batch());

    private List<AuditRecord> Batch()
    {
        var batch = new List<AuditRecord>(BatchSize);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var i = 0; i < BatchSize; i++)
        {
            var n = Interlocked.Increment(ref _next);
            batch.Add(new AuditRecord
            {
                Id = "req_bench" + n,
                CreatedAt = now,
                Endpoint = "POST /api/v1/chat/completions",
                UserId = "usr_" + (n % 20),
                KeyId = "key_" + (n % 20),
                WorkspaceId = "ws_" + (n % 5),
                Workspace = "team-" + (n % 5),
                RequestedModel = "team-" + (n % 5),
                Provider = "openai",
                ServedModel = "gpt-4o-mini",
                Status = 200,
                Outcome = AuditOutcomes.Ok,
                Verdicts = n % 10 == 0 ? ["PII obfuscated: EMAIL×1 (messages[0].content)"] : [],
                Stream = n % 2 == 0,
                Attempts = 1,
                PromptTokens = 120,
                CompletionTokens = 80,
                CostUsd = 0.000066,
                LatencyMs = 812.25,
                TtftMs = n % 2 == 0 ? 210.5 : null,
                ClientIp = "10.0.0.7",
                UserAgent = "OpenAI/Python 1.54.3",
            });
        }

        return batch;
    }
}
