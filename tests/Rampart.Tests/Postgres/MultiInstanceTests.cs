using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Rampart.Auth;
using Rampart.Dashboard;
using Rampart.Data;
using Rampart.Tests.Infrastructure;
using Xunit.Abstractions;
using static Rampart.Tests.Infrastructure.Eventually;

namespace Rampart.Tests.Postgres;

/// <summary>
/// Two real gateway instances (Program on Kestrel, each with its own settings and data folder) on one PostgreSQL database,
/// behind a real nginx balancing round-robin on loopback: what one instance changes, the other applies within a second;
/// limits hold across both; audit records from both land. The instances poll for access changes only every 60 s here, so
/// anything faster than that is PostgreSQL's NOTIFY at work. Runs in both passes, like the other PostgreSQL tests.
/// </summary>
[Collection(RunsAlone.Name)]
public sealed class MultiInstanceTests(TwoInstancesFixture instances, ITestOutputHelper output) : IClassFixture<TwoInstancesFixture>
{
    private static readonly TimeSpan PropagationBudget = TimeSpan.FromSeconds(1);

    private GatewayFixture A => instances.A;

    private GatewayFixture B => instances.B;

    [Fact]
    public async Task KeyRevokedThroughA_IsRefusedByB_WithinOneSecond()
    {
        var (workspace, key) = await A.CreateWorkspaceWithCallerAsync();
        var keyId = (await A.Store.ListKeysAsync(null, default)).Single(k => k.KeyHash == ApiKeys.Hash(key)).Id;
        using var onB = B.Http(key);
        await WaitUntilAsync(async () => (await onB.GetAsync($"api/v1/models/{workspace.Name}")).StatusCode == HttpStatusCode.OK);

        using var admin = A.Http(A.MasterKey);
        var elapsed = await TimeUntilAsync(
            async () => Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"api/v1/keys/{keyId}")).StatusCode),
            async () => (await onB.GetAsync($"api/v1/models/{workspace.Name}")).StatusCode == HttpStatusCode.Unauthorized);

        Assert.True(elapsed <= PropagationBudget, $"instance B still accepted the revoked key {elapsed.TotalMilliseconds:0} ms later");
    }

    [Fact]
    public async Task PolicyChangedThroughA_IsAppliedByB_WithinOneSecond()
    {
        var (workspace, key) = await A.CreateWorkspaceWithCallerAsync();
        using var onB = B.Http(key);
        var withEmail = ChatApi.Request(workspace.Name, "Write to jane.roe@example.com please");
        await WaitUntilAsync(async () => (await ChatApi.PostAsync(onB, withEmail)).StatusCode == HttpStatusCode.OK);

        using var admin = A.Http(A.MasterKey);
        var policy = (await admin.GetFromJsonAsync<JsonObject>($"api/v1/workspaces/{workspace.Name}/policy"))!;
        policy["pii"] = "block";
        var elapsed = await TimeUntilAsync(
            async () => Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"api/v1/workspaces/{workspace.Name}/policy", ChatApi.Content(policy))).StatusCode),
            async () => (await ChatApi.PostAsync(onB, withEmail)).StatusCode == HttpStatusCode.BadRequest);

        Assert.True(elapsed <= PropagationBudget, $"instance B applied the new policy only {elapsed.TotalMilliseconds:0} ms later");
        Assert.Equal("pii_detected", (await ChatApi.ErrorAsync(await ChatApi.PostAsync(onB, withEmail))).Text("code"));
    }

    [Fact]
    public async Task MemberRemovedThroughA_LosesTheWorkspaceOnB_WithinOneSecond()
    {
        var workspace = await A.CreateWorkspaceAsync();
        var (user, key) = await A.CreateCallerAsync(workspace.Name);
        using var onB = B.Http(key);
        await WaitUntilAsync(async () => (await onB.GetAsync($"api/v1/models/{workspace.Name}")).StatusCode == HttpStatusCode.OK);

        using var admin = A.Http(A.MasterKey);
        var elapsed = await TimeUntilAsync(
            async () => Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"api/v1/workspaces/{workspace.Name}/members/{user.Id}")).StatusCode),
            async () => (await onB.GetAsync($"api/v1/models/{workspace.Name}")).StatusCode == HttpStatusCode.NotFound);

        Assert.True(elapsed <= PropagationBudget, $"instance B still served the removed member {elapsed.TotalMilliseconds:0} ms later");
    }

    [Fact]
    public async Task ProviderCredentialChangedThroughA_IsUsedByB_WithinOneSecond()
    {
        var (workspace, key) = await A.CreateWorkspaceWithCallerAsync();
        await BothKnowAsync(key);
        using var admin = A.Http(A.MasterKey);
        using var onB = B.Http(key);
        async Task<string> UpstreamKeyUsedByB()
        {
            var marker = ChatApi.NewMarker();
            Assert.Equal(HttpStatusCode.OK, (await ChatApi.PostAsync(onB, ChatApi.Request(workspace.Name, marker))).StatusCode);
            return B.Upstream.RequestWith(marker).Authorization;
        }

        var first = "sk-first-" + Guid.NewGuid().ToString("N");
        var second = "sk-second-" + Guid.NewGuid().ToString("N");
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"api/v1/workspaces/{workspace.Name}/credentials/openai",
            ChatApi.Content(new JsonObject { ["api_key"] = first, ["base_url"] = B.Upstream.BaseUrl }))).StatusCode);
        await WaitUntilAsync(async () => await UpstreamKeyUsedByB() == $"Bearer {first}");

        var elapsed = await TimeUntilAsync(
            async () => Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"api/v1/workspaces/{workspace.Name}/credentials/openai",
                ChatApi.Content(new JsonObject { ["api_key"] = second, ["base_url"] = B.Upstream.BaseUrl }))).StatusCode),
            async () => await UpstreamKeyUsedByB() == $"Bearer {second}");

        Assert.True(elapsed <= PropagationBudget, $"instance B used the old provider key {elapsed.TotalMilliseconds:0} ms later");
    }

    [Fact]
    public async Task PerKeyLimitOfN_ThroughTheBalancer_AdmitsExactlyN_AcrossBothInstances()
    {
        const int limit = 12;
        var (workspace, key) = await A.CreateWorkspaceWithCallerAsync();
        await SetLimitsAsync(workspace.Name, new JsonObject { ["per_key"] = new JsonObject { ["requests_per_minute"] = limit } });
        using var http = instances.ThroughBalancer(key);

        // 3N at once, from 3N connections: nginx spreads them over both instances, which race for the same counter.
        var responses = await Task.WhenAll(Enumerable.Range(0, 3 * limit).Select(i => Task.Run(async () =>
        {
            using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, $"burst {i}"));
            await response.Content.ReadAsStringAsync();
            return (response.StatusCode, RetryAfter: response.Headers.RetryAfter?.Delta, Remaining: Header(response, "x-ratelimit-remaining-requests"));
        })));

        Assert.Equal(limit, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(2 * limit, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
        Assert.All(responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests), r =>
        {
            Assert.InRange(r.RetryAfter ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
            Assert.Equal("0", r.Remaining);
        });
        // Each admitted request saw a different count: no two instances handed out the same slot.
        Assert.Equal(Enumerable.Range(0, limit).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(),
            responses.Where(r => r.StatusCode == HttpStatusCode.OK).Select(r => r.Remaining!).Order());
        var served = (await instances.Balancer.AccessLogAsync()).Where(l => l.Uri == "/api/v1/chat/completions").ToList();
        Assert.Equal(2, served.Select(l => l.Backend).Distinct().Count());
        Assert.All(served.GroupBy(l => l.Backend), g => Assert.Contains(g, l => l.Status == 429));
    }

    [Fact]
    public async Task TokensPerMinute_SettledOnA_CountOnB()
    {
        var (workspace, key) = await A.CreateWorkspaceWithCallerAsync();
        await SetLimitsAsync(workspace.Name, new JsonObject { ["per_key"] = new JsonObject { ["tokens_per_minute"] = 80 } });
        async Task<HttpResponseMessage> Send(GatewayFixture instance)
        {
            // 40 characters, about 11 prompt tokens, plus 50 completion tokens = 61 estimated; the fake upstream reports 18 used.
            var body = ChatApi.Request(workspace.Name, "x" + ChatApi.NewMarker()[..39]);
            body["max_tokens"] = 50;
            using var http = instance.Http(key);
            var response = await ChatApi.PostAsync(http, body);
            await response.Content.ReadAsStringAsync();
            return response;
        }

        var onA = await Send(A);
        Assert.Equal(HttpStatusCode.OK, onA.StatusCode);
        Assert.Equal("19", Header(onA, "x-ratelimit-remaining-tokens"));

        // B counts A's 18 settled tokens plus its own 61 reserved: 1 left. Had B not seen A's usage, 19 would be left.
        var onB = await Send(B);
        Assert.Equal(HttpStatusCode.OK, onB.StatusCode);
        Assert.Equal("1", Header(onB, "x-ratelimit-remaining-tokens"));

        var third = await Send(A);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Equal("tokens", (await ChatApi.ErrorAsync(third)).Text("type"));
    }

    [Fact]
    public async Task AuditRecords_FromBothInstances_AllLand_ExactlyOnce()
    {
        var (workspace, key) = await A.CreateWorkspaceWithCallerAsync();
        var userId = (await A.Store.ListKeysAsync(null, default)).Single(k => k.KeyHash == ApiKeys.Hash(key)).UserId;
        await BothKnowAsync(key);
        using var http = instances.ThroughBalancer(key);
        var ids = new ConcurrentBag<string>();

        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            // Answered, streamed, and refused (an unknown workspace): every outcome leaves a record.
            var model = i % 10 == 9 ? "no-such-workspace" : workspace.Name;
            using var response = await ChatApi.PostAsync(http, ChatApi.Request(model, $"audit {i}", stream: i % 3 == 0));
            await response.Content.ReadAsStringAsync();
            ids.Add(response.Headers.GetValues("x-request-id").Single());
        })));

        List<string> stored = [];
        await WaitUntilAsync(async () =>
        {
            await using var connection = await A.ConnectAsync();
            stored = [.. await connection.QueryAsync<string>("SELECT id FROM audit_records WHERE user_id = @UserId", new { UserId = userId })];
            return stored.Count >= ids.Count;
        }, timeout: TimeSpan.FromSeconds(30));

        Assert.Equal(40, ids.Distinct().Count());
        Assert.True(ids.ToHashSet().SetEquals(stored), $"{ids.Count} requests answered, {stored.Count} audit records, {ids.Except(stored).Count()} missing");
        var backends = (await instances.Balancer.AccessLogAsync()).Where(l => l.Uri == "/api/v1/chat/completions").Select(l => l.Backend).Distinct();
        Assert.Equal(2, backends.Count());
    }

    [Fact]
    public async Task KeyUsageCounts_FromBothInstances_AddUp()
    {
        var (workspace, key) = await A.CreateWorkspaceWithCallerAsync();
        var keyId = (await A.Store.ListKeysAsync(null, default)).Single(k => k.KeyHash == ApiKeys.Hash(key)).Id;
        await BothKnowAsync(key);
        foreach (var (instance, count) in new[] { (A, 5), (B, 7), (A, 2) })
        {
            using var http = instance.Http(key);
            for (var i = 0; i < count; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"api/v1/models/{workspace.Name}")).StatusCode);
            }

            await instance.Services.GetRequiredService<KeyUsageTracker>().FlushAsync(default);
        }

        await using var connection = await A.ConnectAsync();
        Assert.Equal(14, await connection.ExecuteScalarAsync<long>("SELECT request_count FROM api_keys WHERE id = @Id", new { Id = keyId }));
    }

    [Fact]
    public async Task SignInLockout_CountsFailuresFromBothInstances()
    {
        var email = $"lockout-{Guid.NewGuid():N}@example.test";
        var onA = A.Services.GetRequiredService<SignInThrottle>();
        var onB = B.Services.GetRequiredService<SignInThrottle>();

        for (var i = 0; i < SignInThrottle.MaxFailures - 1; i++)
        {
            Assert.Null(await (i % 2 == 0 ? onA : onB).FailedAsync(email, default));
        }

        Assert.Null(await onA.LockedUntilAsync(email, default));
        Assert.NotNull(await onB.FailedAsync(email, default));
        Assert.NotNull(await onA.LockedUntilAsync(email, default));
    }

    private async Task SetLimitsAsync(string workspace, JsonObject limits)
    {
        using var admin = A.Http(A.MasterKey);
        var policy = (await admin.GetFromJsonAsync<JsonObject>($"api/v1/workspaces/{workspace}/policy"))!;
        policy["limits"] = limits;
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"api/v1/workspaces/{workspace}/policy", ChatApi.Content(policy))).StatusCode);
        // Both instances must know the new policy before the test counts on it.
        await WaitUntilAsync(() => Task.FromResult(new[] { A, B }.All(g =>
            g.Services.GetRequiredService<AccessCache>().Current.FindWorkspace(workspace)?.Policy.Limits is not null)));
    }

    /// <summary>Waits until both instances' snapshots hold a key just created, so that no request with it is refused as unknown.</summary>
    private Task BothKnowAsync(string key) => WaitUntilAsync(() => Task.FromResult(new[] { A, B }.All(g =>
        g.Services.GetRequiredService<AccessCache>().Current.FindKey(ApiKeys.Hash(key)) is not null)));

    /// <summary>
    /// Runs <paramref name="change"/> (a request to instance A, which answers once the change is committed), then polls
    /// <paramref name="seen"/> every 20 ms; the time from A's answer until instance B behaves accordingly.
    /// </summary>
    private async Task<TimeSpan> TimeUntilAsync(Func<Task> change, Func<Task<bool>> seen)
    {
        var clock = Stopwatch.StartNew();
        await change();
        var committed = clock.Elapsed;
        while (!await seen())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the change never arrived");
            await Task.Delay(20);
        }

        var propagation = clock.Elapsed - committed;
        output.WriteLine($"change on A took {committed.TotalMilliseconds:0} ms; B applied it {propagation.TotalMilliseconds:0} ms after that");
        return propagation;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;
}

/// <summary>
/// A fresh database on the shared PostgreSQL server, two gateway instances on it (the same master key; each its own data
/// folder and fake upstream, so a test can tell which instance called out), and nginx in front of both.
/// </summary>
public sealed class TwoInstancesFixture : IAsyncLifetime
{
    private readonly string _database = "rampart_multi_" + Guid.NewGuid().ToString("N")[..12];
    private PostgresServer _server = null!;

    internal GatewayFixture A { get; private set; } = null!;

    internal GatewayFixture B { get; private set; } = null!;

    public NginxBalancer Balancer { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.SharedAsync();
        var connectionString = await _server.CreateDatabaseAsync(_database);
        A = new Instance(connectionString, masterKey: null);
        await A.InitializeAsync();
        B = new Instance(connectionString, A.MasterKey);
        await B.InitializeAsync();
        Balancer = await NginxBalancer.StartAsync([new Uri(A.BaseUrl), new Uri(B.BaseUrl)]);
    }

    public HttpClient ThroughBalancer(string key)
    {
        var client = new HttpClient { BaseAddress = new Uri(Balancer.BaseUrl + "/"), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public async Task DisposeAsync()
    {
        if (Balancer is not null)
        {
            await Balancer.DisposeAsync();
        }

        foreach (var instance in new[] { B, A })
        {
            if (instance is not null)
            {
                await instance.DisposeAsync();
            }
        }

        await _server.DropDatabaseAsync(_database);
    }

    private sealed class Instance(string connectionString, string? masterKey) : GatewayFixture
    {
        protected override void Configure(Dictionary<string, string?> settings)
        {
            settings[Db.PostgresSetting] = connectionString;
            if (masterKey is not null)
            {
                settings["RAMPART_MASTER_KEY"] = masterKey;
            }

            // No help from polling: a change another instance makes can only arrive this fast through NOTIFY.
            settings["Rampart:AccessPollMilliseconds"] = "60000";
            settings["Rampart:Audit:FlushIntervalMilliseconds"] = "200";
        }
    }
}
