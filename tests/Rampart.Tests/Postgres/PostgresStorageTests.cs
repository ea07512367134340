using Dapper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Rampart.Audit;
using Rampart.Data;
using Rampart.Data.Migrations;
using Rampart.Providers;
using Rampart.Tests.Infrastructure;
using Rampart.Tests.Unit;

namespace Rampart.Tests.Postgres;

/// <summary>
/// The storage layer on a real PostgreSQL server, whatever database the rest of the run uses: concurrent migrations and
/// first starts, the audit store's batched writes and replays, connection URLs and the shared Data Protection key ring
/// (the migrations themselves: <see cref="Unit.MigrationTests"/>). Each test has a fresh database.
/// </summary>
public sealed class PostgresStorageTests : IAsyncLifetime
{
    private readonly List<Db> _opened = [];
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rampart-pg-storage-" + Guid.NewGuid().ToString("N"));
    private readonly string _database = "rampart_t_" + Guid.NewGuid().ToString("N")[..16];
    private PostgresServer _server = null!;
    private string _connectionString = "";

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.SharedAsync();
        _connectionString = await _server.CreateDatabaseAsync(_database);
    }

    public async Task DisposeAsync()
    {
        foreach (var db in _opened)
        {
            await db.DisposeAsync();
        }

        await _server.DropDatabaseAsync(_database);
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task ConcurrentMigrationRuns_ApplyEachStepExactlyOnce()
    {
        // The second step is not idempotent: run twice, it would leave two rows.
        Migration[] steps =
        [
            new(1, "counter", _ => ["CREATE TABLE applied_steps (step INTEGER NOT NULL)", "INSERT INTO applied_steps (step) VALUES (1)"]),
            new(2, "count", _ => ["INSERT INTO applied_steps (step) VALUES (2)"]),
        ];
        var runners = Enumerable.Range(0, 6).Select(_ => new MigrationRunner(Database(), NullLogger<MigrationRunner>.Instance)).ToList();

        var applied = await Task.WhenAll(runners.Select(r => Task.Run(() => r.ApplyAsync(steps, default))));

        Assert.Equal(steps.Length, applied.Sum());
        await using var connection = await Database().OpenAsync();
        Assert.Equal([1L, 2L], await connection.QueryAsync<long>("SELECT step FROM applied_steps ORDER BY step"));
        Assert.Equal([1L, 2L], await connection.QueryAsync<long>("SELECT version FROM schema_migrations ORDER BY version"));
    }

    [Fact]
    public async Task InstancesStartingTogether_OnAnEmptyDatabase_BootstrapOnce()
    {
        var stores = new List<AccessStore>();
        for (var i = 0; i < 4; i++)
        {
            var db = Database();
            await new MigrationRunner(db, NullLogger<MigrationRunner>.Instance).ApplyAsync(Migrations.All, default);
            stores.Add(new AccessStore(db, new AccessChangeSignal(), TimeProvider.System));
        }

        var results = await Task.WhenAll(stores.Select(store => Task.Run(() =>
            store.BootstrapAsync("admin@example.test", "pw-" + Guid.NewGuid().ToString("N"), 1000, new Workspaces.WorkspacePolicy(), default))));

        Assert.Single(results, r => r is not null);
        Assert.Single(await stores[0].ListUsersAsync(default));
        var workspace = (await stores[0].LoadSnapshotAsync(default)).FindWorkspace(Workspaces.WorkspaceNames.Default);
        Assert.NotNull(workspace);
    }

    [Fact]
    public async Task TheSameEmailFromTwoInstancesAtOnce_OneWins_TheOthersGetAConflict()
    {
        var db = Database();
        await new MigrationRunner(db, NullLogger<MigrationRunner>.Instance).ApplyAsync(Migrations.All, default);
        var stores = Enumerable.Range(0, 4).Select(_ => new AccessStore(Database(), new AccessChangeSignal(), TimeProvider.System)).ToList();

        var attempts = await Task.WhenAll(stores.Select(store => Task.Run(async () =>
        {
            try
            {
                await store.CreateUserAsync("same@example.test", "Same", null, Auth.OrgRoles.Member, default);
                return "created";
            }
            catch (AccessConflictException)
            {
                return "conflict";
            }
        })));

        Assert.Equal(["conflict", "conflict", "conflict", "created"], attempts.Order());
    }

    [Fact]
    public async Task AuditBatch_StoresEveryFieldInOneStatement_AndRollsUpUsage()
    {
        var (db, store) = await AuditStoreAsync();
        var full = AuditWriterTests.Record("req_full", prompt: 7, completion: 3) with
        {
            Verdicts = ["PII obfuscated: EMAIL×2 (messages[0].content)"], Stream = true, TokensEstimated = true, TtftMs = 1.5, UserAgent = "curl/8",
        };
        var bare = new AuditRecord { Id = "req_bare", CreatedAt = full.CreatedAt, Status = 401, Outcome = AuditOutcomes.Unauthenticated };
        var batch = Enumerable.Range(0, 700).Select(i => AuditWriterTests.Record($"req_{i}", prompt: 10, completion: 2)).Append(full).Append(bare).ToList();

        var inserted = await store.WriteAsync(batch, default);

        Assert.Equal(batch.Count, inserted);
        await using var connection = await db.OpenAsync();
        var row = await connection.QuerySingleAsync(
            "SELECT verdicts, stream, tokens_estimated, ttft_ms, user_agent, status, prompt_tokens FROM audit_records WHERE id = 'req_full'");
        Assert.Equal("""["PII obfuscated: EMAIL\u00D72 (messages[0].content)"]""", (string)row.verdicts);
        Assert.Equal((1, 1, 1.5, "curl/8", 200, 7L), ((int)row.stream, (int)row.tokens_estimated, (double)row.ttft_ms, (string)row.user_agent, (int)row.status, (long)row.prompt_tokens));
        var empty = await connection.QuerySingleAsync("SELECT user_id, verdicts, prompt_tokens, cost_usd FROM audit_records WHERE id = 'req_bare'");
        Assert.Equal((null, null, null, null), ((string?)empty.user_id, (string?)empty.verdicts, (long?)empty.prompt_tokens, (double?)empty.cost_usd));
        Assert.Equal(batch.Count, await connection.ExecuteScalarAsync<long>("SELECT SUM(requests) FROM usage_daily"));
        Assert.Equal(700 * 10 + 7, await connection.ExecuteScalarAsync<long>("SELECT SUM(prompt_tokens) FROM usage_daily"));
    }

    [Fact]
    public async Task ReplayedBatch_StoresEachRecordOnce_AndCountsUsageOnce()
    {
        var (db, store) = await AuditStoreAsync();
        var records = Enumerable.Range(0, 5).Select(i => AuditWriterTests.Record($"req_{i}", prompt: 10, completion: 2)).ToList();
        await store.WriteAsync(records[..2], default);

        // The whole batch again (the spool keeps a batch whole), with one record in it twice.
        var again = await store.WriteAsync([.. records, records[4]], default);
        var thirdTime = await store.WriteAsync(records, default);

        Assert.Equal((3, 0), (again, thirdTime));
        await using var connection = await db.OpenAsync();
        Assert.Equal(5, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_records"));
        Assert.Equal(5, await connection.ExecuteScalarAsync<long>("SELECT SUM(requests) FROM usage_daily"));
        Assert.Equal(50, await connection.ExecuteScalarAsync<long>("SELECT SUM(prompt_tokens) FROM usage_daily"));
    }

    [Fact]
    public async Task SpoolReplay_ThroughTheWriter_StoresEachRecordOnce()
    {
        var (db, store) = await AuditStoreAsync();
        var records = Enumerable.Range(0, 5).Select(i => AuditWriterTests.Record($"req_{i}", prompt: 10, completion: 2)).ToList();
        await store.WriteAsync(records[..2], default);
        var spool = new AuditSpool(_dir);
        spool.Append(records);
        var writer = new AuditWriter(store, spool, new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Rampart:Audit:BatchSize"] = "2" }).Build(),
            NullLogger<AuditWriter>.Instance);

        await writer.FlushAsync();
        await writer.FlushAsync();

        await using var connection = await db.OpenAsync();
        Assert.Equal(5, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_records"));
        Assert.Equal(5, await connection.ExecuteScalarAsync<long>("SELECT SUM(requests) FROM usage_daily"));
        Assert.False(spool.HasPending);
    }

    [Fact]
    public async Task PostgresUrl_Connects_AndTheDescriptionHasNoPassword()
    {
        var parsed = new NpgsqlConnectionStringBuilder(_connectionString);
        var url = $"postgres://{Uri.EscapeDataString(parsed.Username!)}:{Uri.EscapeDataString(parsed.Password!)}@{parsed.Host}:{parsed.Port}/{parsed.Database}?sslmode=disable&application_name=rampart-test";

        var db = Track(Db.Postgres(url));
        await using var connection = await db.OpenAsync();

        Assert.Equal("rampart-test", await connection.ExecuteScalarAsync<string>("SELECT current_setting('application_name')"));
        Assert.Equal($"{parsed.Host}:{parsed.Port}/{parsed.Database}", db.Description);
        Assert.DoesNotContain(parsed.Password!, db.Description);
    }

    [Fact]
    public void PostgresUrl_WithAnUnknownParameter_IsRefusedWithoutEchoingThePassword()
    {
        var password = "pw-" + Guid.NewGuid().ToString("N");

        var error = Assert.Throws<InvalidOperationException>(() => PostgresConnectionString.Parse($"postgres://rampart:{password}@db.example:5433/rampart?sslmod=require"));

        Assert.Contains("sslmod", error.Message);
        Assert.DoesNotContain(password, error.Message);
        var good = PostgresConnectionString.Parse($"postgresql://rampart:{Uri.EscapeDataString("p@ss:w/rd")}@db.example:5433/rampart?sslmode=require");
        Assert.Equal(("db.example", 5433, "rampart", "rampart", "p@ss:w/rd", SslMode.Require), (good.Host, good.Port, good.Database, good.Username, good.Password, good.SslMode));
    }

    [Fact]
    public async Task SharedKeyRing_EachInstanceDecryptsWhatAnotherEncrypted()
    {
        var (first, second) = await TwoInstancesAsync();
        await using var disposeFirst = first;
        await using var disposeSecond = second;
        var secretA = "sk-test-a-" + Guid.NewGuid().ToString("N");
        var secretB = "sk-test-b-" + Guid.NewGuid().ToString("N");

        var fromFirst = Protector(first).Protect(secretA);
        var fromSecond = Protector(second).Protect(secretB);

        Assert.Equal(secretA, Protector(second).Unprotect(fromFirst));
        Assert.Equal(secretB, Protector(first).Unprotect(fromSecond));
        await using var connection = await first.GetRequiredService<Db>().OpenAsync();
        Assert.True(await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM data_protection_keys") >= 1);
        Assert.False(Directory.Exists(Path.Combine(_dir, "a", "keys")));
        Assert.False(Directory.Exists(Path.Combine(_dir, "b", "keys")));
    }

    [Fact]
    public async Task KeyCreatedByAnotherInstanceAfterThisOneLoadedItsRing_IsFoundWhenNeeded()
    {
        // Two instances starting together on an empty table can each create a key: the second one's key is not in the
        // first one's cached ring.
        var (first, second) = await TwoInstancesAsync();
        await using var disposeFirst = first;
        await using var disposeSecond = second;
        var secret = "sk-test-" + Guid.NewGuid().ToString("N");
        Protector(first).Protect("load the key ring");
        await Task.Delay(50);
        var key = second.GetRequiredService<Microsoft.AspNetCore.DataProtection.KeyManagement.IKeyManager>()
            .CreateNewKey(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(90));

        var fromSecond = Protector(second).Protect(secret);

        // The payload names its key after a 4-byte header: it is the new one, which the first instance has not loaded.
        Assert.Equal(key.KeyId, new Guid(Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlDecode(fromSecond).AsSpan(4, 16)));
        Assert.Equal(secret, Protector(first).Unprotect(fromSecond));
    }

    /// <summary>Two gateway instances' data services: separate data folders, one PostgreSQL database, migrated.</summary>
    private async Task<(ServiceProvider First, ServiceProvider Second)> TwoInstancesAsync()
    {
        var (first, second) = (Instance("a"), Instance("b"));
        await new MigrationRunner(first.GetRequiredService<Db>(), NullLogger<MigrationRunner>.Instance).ApplyAsync(Migrations.All, default);
        return (first, second);
    }

    private ServiceProvider Instance(string name) =>
        new ServiceCollection().AddLogging().AddRampartData(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["RAMPART_DATA_DIR"] = Path.Combine(_dir, name),
            [Db.PostgresSetting] = _connectionString,
        }).Build()).BuildServiceProvider();

    /// <summary>
    /// Dapper.AOT takes a command's cancellation from its parameters (src/Rampart/Data/DapperAot.cs); plain Dapper, which
    /// runs a call the generator skipped, ignores it there. A sign-in failure held up by another transaction's row lock
    /// must stop when its caller gives up, not when the lock goes.
    /// </summary>
    [Fact]
    public async Task ACommandWaitingForALock_StopsWhenItsCallerCancels()
    {
        var (db, _) = await AuditStoreAsync();
        var throttle = new Rampart.Dashboard.SignInThrottle(db, TimeProvider.System);
        var email = $"locked.{Guid.NewGuid():N}@example.com";
        await throttle.FailedAsync(email, default);
        await using var holder = await db.OpenAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await holder.ExecuteAsync("SELECT 1 FROM sign_in_failures WHERE email = @email FOR UPDATE", new { email }, transaction);
        try
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            var thrown = await Record.ExceptionAsync(() => throttle.FailedAsync(email, cancel.Token).WaitAsync(TimeSpan.FromSeconds(15)));

            Assert.IsAssignableFrom<OperationCanceledException>(thrown);
        }
        finally
        {
            await transaction.RollbackAsync();
        }
    }

    private static CredentialProtector Protector(IServiceProvider services) => new(services.GetRequiredService<IDataProtectionProvider>());

    private Db Database() => Track(Db.Postgres(_connectionString));

    private Db Track(Db db)
    {
        _opened.Add(db);
        return db;
    }

    private async Task<(Db Db, AuditStore Store)> AuditStoreAsync()
    {
        var db = Database();
        await new MigrationRunner(db, NullLogger<MigrationRunner>.Instance).ApplyAsync(Migrations.All, default);
        return (db, new AuditStore(db));
    }
}
