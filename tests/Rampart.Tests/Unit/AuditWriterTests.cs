using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Audit;
using Rampart.Data;
using Rampart.Data.Migrations;

namespace Rampart.Tests.Unit;

/// <summary>The audit writer, spool and store against a real SQLite file, without a gateway.</summary>
public sealed class AuditWriterTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rampart-audit-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task ReplayAfterAPartialWrite_StoresEachRecordOnce_AndCountsUsageOnce()
    {
        var (db, store) = await DatabaseAsync();
        var records = Enumerable.Range(0, 5).Select(i => Record($"req_{i}", prompt: 10, completion: 2)).ToList();
        // The first two reached the database before it failed; all five were spooled (the batch is spooled whole).
        await store.WriteAsync(records[..2], default);
        var spool = new AuditSpool(_dir);
        spool.Append(records);
        File.AppendAllText(Path.Combine(_dir, AuditSpool.FileName), """{"id":"req_torn","outc""");
        var writer = Writer(store, spool);

        await writer.FlushAsync();
        await writer.FlushAsync();

        await using var connection = await db.OpenAsync();
        Assert.Equal(5, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_records"));
        Assert.Equal(5, await connection.ExecuteScalarAsync<long>("SELECT SUM(requests) FROM usage_daily"));
        Assert.Equal(50, await connection.ExecuteScalarAsync<long>("SELECT SUM(prompt_tokens) FROM usage_daily"));
        Assert.False(spool.HasPending);
        Assert.Empty(Directory.EnumerateFiles(_dir, "audit-spool*"));
    }

    [Fact]
    public void TornLastLine_CostsOnlyThatRecord()
    {
        var spool = new AuditSpool(_dir);
        spool.Append([Record("req_a")]);
        File.AppendAllText(Path.Combine(_dir, AuditSpool.FileName), """{"id":"req_torn","sta""");
        spool.Append([Record("req_b")]);

        var unreadable = 0;
        var read = spool.TakeForReplay().SelectMany(f => AuditSpool.Read(f, () => unreadable++)).Select(r => r.Id).ToList();

        Assert.Equal(["req_a", "req_b"], read);
        Assert.Equal(1, unreadable);
    }

    [Fact]
    public async Task Spool_KeepsEveryField()
    {
        var spool = new AuditSpool(_dir);
        var record = Record("req_full", prompt: 3, completion: 4) with
        {
            Verdicts = ["PII obfuscated: EMAIL×2 (messages[0].content)"], TtftMs = 1.5, Stream = true, TokensEstimated = true, UserAgent = "curl/8",
        };
        spool.Append([record]);

        var read = Assert.Single(spool.TakeForReplay().SelectMany(f => AuditSpool.Read(f, () => { })));

        Assert.Equal(record with { Verdicts = [] }, read with { Verdicts = [] });
        Assert.Equal(record.Verdicts, read.Verdicts);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Store_KeepsEveryColumnAsWritten_TextNumbersAndNulls()
    {
        var (db, store) = await DatabaseAsync();
        var full = Record("req_every", prompt: 3_000_000_000, completion: 4) with
        {
            Workspace = "équipe-日本語", UserAgent = "agent/1 (ünïcode; 🦀)", ErrorCode = "none", Verdicts = ["PII obfuscated: EMAIL×2 (messages[0].content)"],
            Stream = true, TokensEstimated = true, Attempts = 3, Status = 201, CostUsd = 0.125, LatencyMs = 12.75, TtftMs = 1.5,
        };
        var sparse = new AuditRecord { Id = "req_sparse", CreatedAt = 1, Outcome = AuditOutcomes.Blocked, Status = 400 };

        Assert.Equal(2, await store.WriteAsync([full, sparse], default));

        await using var connection = await db.OpenAsync();
        var rows = (await connection.QueryAsync(
            "SELECT id, created_at, endpoint, user_id, key_id, workspace_id, workspace, requested_model, provider, served_model, status, outcome, " +
            "error_code, verdicts, stream, attempts, prompt_tokens, completion_tokens, tokens_estimated, cost_usd, latency_ms, ttft_ms, client_ip, " +
            "user_agent FROM audit_records ORDER BY id")).Select(r => (IDictionary<string, object?>)r).ToList();
        var every = rows[0];
        Assert.Equal(("req_every", full.CreatedAt, full.Endpoint, "usr_1", "key_1", "ws_1", "équipe-日本語", "default", "openai", "gpt-4o-mini"),
            ((string)every["id"]!, (long)every["created_at"]!, (string)every["endpoint"]!, (string)every["user_id"]!, (string)every["key_id"]!,
             (string)every["workspace_id"]!, (string)every["workspace"]!, (string)every["requested_model"]!, (string)every["provider"]!, (string)every["served_model"]!));
        Assert.Equal(full.Verdicts, System.Text.Json.JsonSerializer.Deserialize<string[]>((string)every["verdicts"]!));
        Assert.Equal((201L, AuditOutcomes.Ok, "none", 1L, 3L, 3_000_000_000L, 4L, 1L),
            ((long)every["status"]!, (string)every["outcome"]!, (string)every["error_code"]!, (long)every["stream"]!, (long)every["attempts"]!, (long)every["prompt_tokens"]!, (long)every["completion_tokens"]!, (long)every["tokens_estimated"]!));
        Assert.Equal((0.125, 12.75, 1.5, "127.0.0.1", "agent/1 (ünïcode; 🦀)"),
            ((double)every["cost_usd"]!, (double)every["latency_ms"]!, (double)every["ttft_ms"]!, (string)every["client_ip"]!, (string)every["user_agent"]!));

        var none = rows[1];
        Assert.Equal(("req_sparse", 1L, 400L, AuditOutcomes.Blocked, 0L, 0L, 0L, 0.0), ((string)none["id"]!, (long)none["created_at"]!, (long)none["status"]!,
            (string)none["outcome"]!, (long)none["stream"]!, (long)none["attempts"]!, (long)none["tokens_estimated"]!, (double)none["latency_ms"]!));
        string[] nullable = ["endpoint", "user_id", "key_id", "workspace_id", "workspace", "requested_model", "provider", "served_model", "error_code",
            "verdicts", "prompt_tokens", "completion_tokens", "cost_usd", "ttft_ms", "client_ip", "user_agent"];
        Assert.All(nullable, column => Assert.Null(none[column]));

        // Written again (a replay), nothing is inserted or counted twice.
        Assert.Equal(0, await store.WriteAsync([full, sparse], default));
    }

    [Fact]
    public async Task FullQueue_SpoolsInsteadOfBlocking_AndNothingIsLost()
    {
        var (db, store) = await DatabaseAsync();
        var writer = Writer(store, new AuditSpool(_dir), queueCapacity: 4);

        for (var i = 0; i < 100; i++)
        {
            writer.Enqueue(Record($"req_{i}"));
        }

        Assert.True(File.Exists(Path.Combine(_dir, AuditSpool.FileName)));
        await writer.FlushAsync();
        await using var connection = await db.OpenAsync();
        Assert.Equal(100, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_records"));
    }

    [Fact]
    public void PriceTable_HasDefaults_TakesOverrides_AndKnowsNothingOfUnlistedModels()
    {
        Directory.CreateDirectory(_dir);
        var file = Path.Combine(_dir, "prices.json");
        File.WriteAllText(file, """
            // ours
            { "prices": { "openai/gpt-4o-mini": { "input": 1, "output": 2 }, "local/*": { "input": 0, "output": 0 } } }
            """);

        var defaults = PriceTable.Load(Configuration());
        var custom = PriceTable.Load(Configuration((PriceTable.FileSetting, file)));

        Assert.Equal(new ModelPrice(0.15, 0.60), defaults.Find("openai", "gpt-4o-mini"));
        Assert.Null(defaults.Find("openai", "gpt-4o-mini-unknown"));
        Assert.Null(defaults.Cost("openai", "no-such-model", 100, 100));
        Assert.Equal(0, defaults.Cost("demo", "demo", 100, 100));
        Assert.Equal(new ModelPrice(1, 2), custom.Find("openai", "gpt-4o-mini"));
        Assert.Equal(new ModelPrice(2.50, 10.00), custom.Find("openai", "gpt-4o"));
        Assert.Equal(0, custom.Cost("local", "llama3", 1000, 1000));
        Assert.Equal(3.0, custom.Cost("openai", "gpt-4o-mini", 1_000_000, 1_000_000));
    }

    [Theory]
    [InlineData("""{ "prices": { "gpt-4o": { "input": 1, "output": 2 } } }""", "invalid entry 'gpt-4o'")]
    [InlineData("""{ "prices": { "openai/x": { "input": -1, "output": 2 } } }""", "invalid entry 'openai/x'")]
    [InlineData("""{ "prices": { "openai/x": { "inputs": 1 } } }""", "not valid JSON")]
    [InlineData("""{ "models": {} }""", "not valid JSON")]
    public void PriceTable_BadFile_StopsStartUpWithTheReason(string json, string reason)
    {
        Directory.CreateDirectory(_dir);
        var file = Path.Combine(_dir, "prices.json");
        File.WriteAllText(file, json);

        var error = Assert.Throws<InvalidOperationException>(() => PriceTable.Load(Configuration((PriceTable.FileSetting, file))));

        Assert.Contains(reason, error.Message);
    }

    [Theory]
    [InlineData("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")]
    [InlineData("OpenAI/Python 1.54.3")]
    [InlineData("ws-0123456789ab")]
    [InlineData("openai/gpt-4o-mini-2024-07-18")]
    public void AuditText_LeavesOrdinaryValuesAlone(string text) => Assert.Equal(text, AuditText.Clean(text, 500));

    [Fact]
    public void AuditText_ReplacesSecretsAndPiiByTheirKind_AndShortens()
    {
        var token = "ghp_" + Guardrails.FakeSecrets.R("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36);

        Assert.Equal("tool/1 ([EMAIL]; [GitHub token])", AuditText.Clean($"tool/1 (jane@example.com; {token})", 500));
        Assert.Equal("abcde", AuditText.Clean("abcdefgh", 5));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder.
        }
    }

    internal static AuditRecord Record(string id, long? prompt = null, long? completion = null) => new()
    {
        Id = id,
        CreatedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        Endpoint = "POST /api/v1/chat/completions",
        UserId = "usr_1",
        KeyId = "key_1",
        WorkspaceId = "ws_1",
        Workspace = "default",
        RequestedModel = "default",
        Provider = "openai",
        ServedModel = "gpt-4o-mini",
        Status = 200,
        Outcome = AuditOutcomes.Ok,
        Attempts = 1,
        PromptTokens = prompt,
        CompletionTokens = completion,
        CostUsd = prompt is null ? null : 0.000001,
        LatencyMs = 12.5,
        ClientIp = "127.0.0.1",
    };

    private async Task<(Db Db, AuditStore Store)> DatabaseAsync()
    {
        var db = Db.FromConfiguration(Configuration());
        await new MigrationRunner(db, NullLogger<MigrationRunner>.Instance).ApplyAsync(Migrations.All, default);
        return (db, new AuditStore(db));
    }

    private static AuditWriter Writer(AuditStore store, AuditSpool spool, int queueCapacity = 1000) =>
        new(store, spool, new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Rampart:Audit:QueueCapacity"] = queueCapacity.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Rampart:Audit:BatchSize"] = "2",
        }).Build(), NullLogger<AuditWriter>.Instance);

    private IConfiguration Configuration(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?> { ["RAMPART_DATA_DIR"] = _dir };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
    }
}
