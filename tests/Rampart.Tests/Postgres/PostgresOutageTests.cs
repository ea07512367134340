using System.Collections.Concurrent;
using System.Net;
using Dapper;
using Npgsql;
using Rampart.Data;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Postgres;

/// <summary>
/// Issue 9's check: PostgreSQL stops in the middle of load and comes back; no audit record is lost or written twice.
/// The gateway runs on a PostgreSQL server of this test's own, so stopping it disturbs no other test.
/// </summary>
[Collection(RunsAlone.Name)]
public sealed class PostgresOutageTests : IAsyncLifetime
{
    private PostgresServer _server = null!;
    private OutageGateway _gateway = null!;
    private string _connectionString = "";

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.StartAsync();
        _connectionString = await _server.CreateDatabaseAsync("rampart_outage");
        _gateway = new OutageGateway(_connectionString);
        await _gateway.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task PostgresStoppedMidLoad_ThenRestarted_EveryAuditRecordLandsExactlyOnce()
    {
        var (workspace, key) = await _gateway.CreateWorkspaceWithCallerAsync();
        var userId = (await _gateway.Store.ListKeysAsync(null, default)).Single(k => k.KeyHash == Auth.ApiKeys.Hash(key)).UserId;
        using var http = _gateway.Http(key);
        var ids = new ConcurrentBag<string>();
        var failures = new ConcurrentBag<HttpStatusCode>();
        using var stopLoad = new CancellationTokenSource();

        // Eight callers without pause, until told to stop; the database is not on the request path, so they keep getting answers.
        var load = Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stopLoad.IsCancellationRequested; i++)
            {
                using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, $"load {worker}-{i}", stream: i % 3 == 0));
                await response.Content.ReadAsStringAsync();
                ids.Add(response.Headers.GetValues("x-request-id").Single());
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Add(response.StatusCode);
                }
            }
        })));

        await WaitUntilAsync(() => ids.Count >= 150);
        await _server.StopServerAsync();
        var sentBeforeStop = ids.Count;
        await WaitUntilAsync(() => ids.Count >= sentBeforeStop + 150);
        await WaitUntilAsync(() => _gateway.Logs.All.Contains("audit records failed; they are spooled", StringComparison.Ordinal));
        await _server.StartServerAsync();
        var sentBeforeRestart = ids.Count;
        await WaitUntilAsync(() => ids.Count >= sentBeforeRestart + 150);
        await stopLoad.CancelAsync();
        await load;

        var sent = ids.ToHashSet();
        List<string> stored = [];
        long counted = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                await using var connection = await _gateway.ConnectAsync();
                stored = [.. await connection.QueryAsync<string>("SELECT id FROM audit_records WHERE user_id = @UserId", new { UserId = userId })];
                counted = await connection.ExecuteScalarAsync<long?>("SELECT SUM(requests) FROM usage_daily WHERE user_id = @UserId", new { UserId = userId }) ?? 0;
                if (stored.Count >= sent.Count && counted >= sent.Count)
                {
                    break;
                }
            }
            catch (NpgsqlException)
            {
                // The server is still starting.
            }

            await Task.Delay(100);
        }

        Assert.Empty(failures);
        Assert.Equal(sent.Count, ids.Count);
        Assert.True(sent.SetEquals(stored), $"{sent.Count} requests answered, {stored.Count} audit records stored, {sent.Except(stored).Count()} missing");
        Assert.Equal(sent.Count, counted);
        Assert.DoesNotContain(Directory.EnumerateFiles(_gateway.DataDir, "audit-spool*"), f => new FileInfo(f).Length > 0);
        Assert.DoesNotContain(new NpgsqlConnectionStringBuilder(_server.AdminConnectionString).Password!, _gateway.Logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListenerCutOffByARestart_Reconnects_AndAnotherInstancesRevocationArrivesWithinASecond()
    {
        var (workspace, key) = await _gateway.CreateWorkspaceWithCallerAsync();
        var keyId = (await _gateway.Store.ListKeysAsync(null, default)).Single(k => k.KeyHash == Auth.ApiKeys.Hash(key)).Id;
        await using var otherDb = Db.Postgres(_connectionString);
        var otherInstance = new AccessStore(otherDb, new AccessChangeSignal(), TimeProvider.System);
        const string listening = "Listening for access changes from other instances";

        await _server.StopServerAsync();
        await WaitUntilAsync(() => _gateway.Logs.All.Contains("Listening for access changes failed", StringComparison.Ordinal));
        await _server.StartServerAsync();
        await WaitUntilAsync(() => _gateway.Logs.Lines.Count(l => l.Contains(listening, StringComparison.Ordinal)) >= 2);
        using var http = _gateway.Http(key);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"api/v1/models/{workspace.Name}")).StatusCode);

        await otherInstance.RevokeKeyAsync(keyId, default);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((await http.GetAsync($"api/v1/models/{workspace.Name}")).StatusCode != HttpStatusCode.Unauthorized)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), "the revocation did not arrive within a second of its commit");
            await Task.Delay(20);
        }
    }

    private static Task WaitUntilAsync(Func<bool> condition) => Eventually.WaitUntilAsync(condition, timeout: TimeSpan.FromSeconds(60));

    /// <summary>The gateway on the test's own server, writing audit batches every 100 ms so batches are under way when it stops.</summary>
    private sealed class OutageGateway(string connectionString) : GatewayFixture
    {
        protected override void Configure(Dictionary<string, string?> settings)
        {
            settings[Db.PostgresSetting] = connectionString;
            settings["Rampart:Audit:FlushIntervalMilliseconds"] = "100";
            settings["Rampart:Audit:BatchSize"] = "50";
            settings["Rampart:Audit:DatabaseTimeoutSeconds"] = "2";
            // Changes from elsewhere arrive through NOTIFY alone: the periodic check would take a minute.
            settings["Rampart:AccessPollMilliseconds"] = "60000";
        }
    }
}
