using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Data;
using Rampart.Data.Migrations;
using Rampart.Limits;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Postgres;

/// <summary>
/// The shared volume limiter on a real PostgreSQL, whatever database the rest of the run uses: several limiters (as several
/// instances) on one database, a database that cannot be reached, and the clean-up of old windows. The HTTP view across
/// two gateways behind nginx is in <see cref="MultiInstanceTests"/>.
/// </summary>
[Collection(RunsAlone.Name)]
public sealed class SharedLimitsTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Monday = FirewallFixture.Monday;

    private readonly string _database = "rampart_t_" + Guid.NewGuid().ToString("N")[..16];
    private readonly List<IAsyncDisposable> _disposables = [];
    private PostgresServer _server = null!;
    private string _connectionString = "";

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.SharedAsync();
        _connectionString = await _server.CreateDatabaseAsync(_database);
        await using var db = Db.Postgres(_connectionString);
        await new MigrationRunner(db, NullLogger<MigrationRunner>.Instance).ApplyAsync(Migrations.All, default);
    }

    public async Task DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        await _server.DropDatabaseAsync(_database);
    }

    [Fact]
    public async Task FourLimiters_RacingForOneCounter_AdmitExactlyTheLimit_AndAgreeOnRetryAfter()
    {
        var clock = new FakeClock(Monday.AddSeconds(30));
        var limiters = Enumerable.Range(0, 4).Select(_ => Limiter(_connectionString, clock)).ToList();
        var request = Request(new VolumeLimits { PerKey = new LimitSet { RequestsPerMinute = 25 }, PerWorkspace = new LimitSet { RequestsPerDay = 1000 } });

        var decisions = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(async () => await limiters[i % 4].AcquireAsync(request, default))));

        Assert.Equal(25, decisions.Count(d => d.Allowed));
        Assert.All(decisions.Where(d => !d.Allowed), d =>
        {
            Assert.Equal("per-key requests per minute (25)", d.Exceeded);
            Assert.Equal(TimeSpan.FromSeconds(60), d.RetryAfter); // every request is in the bucket that began at :30
        });
        Assert.Equal(Enumerable.Range(0, 25).Select(i => (long)i), decisions.Where(d => d.Allowed).Select(d => d.Requests!.Remaining).Order());
    }

    [Fact]
    public async Task TokensAndBudget_SettledThroughOneLimiter_CountForAnother()
    {
        var clock = new FakeClock(Monday);
        var (first, second) = (Limiter(_connectionString, clock), Limiter(_connectionString, clock));
        var limits = new VolumeLimits { PerUser = new LimitSet { TokensPerMinute = 100 }, MonthlyBudgetUsd = 0.01m };

        var admitted = await first.AcquireAsync(Request(limits, estimate: 90), default);
        await first.SettleAsync(admitted.Ticket!, tokens: 30, costUsd: 0.004m, default);
        var next = await second.AcquireAsync(Request(limits, estimate: 70), default);
        var tooMany = await second.AcquireAsync(Request(limits, estimate: 10), default);
        await second.SettleAsync(next.Ticket!, tokens: 70, costUsd: 0.007m, default);
        clock.Advance(TimeSpan.FromMinutes(1));
        var overBudget = await first.AcquireAsync(Request(limits, estimate: 10), default);

        Assert.Equal((true, 0L), (next.Allowed, next.Tokens!.Remaining));
        Assert.Equal("per-user tokens per minute (100)", tooMany.Exceeded);
        Assert.Equal("monthly budget ($0.01)", overBudget.Exceeded);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("refuse")]
    public async Task UnreachableDatabase_CountsInThisInstance_OrRefuses_AsConfigured(string? setting)
    {
        // Nothing listens on port 1 of the loopback: every connection attempt fails at once.
        var limiter = Limiter("Host=127.0.0.1;Port=1;Username=rampart;Password=unused;Database=rampart", new FakeClock(Monday), setting);
        var request = Request(new VolumeLimits { PerKey = new LimitSet { RequestsPerMinute = 2, TokensPerMinute = 1000 } });

        var decisions = new List<LimitDecision>();
        for (var i = 0; i < 3; i++)
        {
            decisions.Add(await limiter.AcquireAsync(request, default));
        }

        if (setting is null)
        {
            Assert.Equal([true, true, false], decisions.Select(d => d.Allowed));
            Assert.All(decisions.Take(2), d => Assert.True(d.Ticket!.CountedLocally));
            await limiter.SettleAsync(decisions[0].Ticket!, 10, 0, default);
        }
        else
        {
            Assert.All(decisions, d => Assert.True(d is { Allowed: false, Unavailable: true }));
        }
    }

    [Fact]
    public async Task Sweep_DeletesBucketsThatLeftTheirWindow_KeepsTheRest()
    {
        var clock = new FakeClock(Monday);
        var limiter = Limiter(_connectionString, clock);
        await limiter.AcquireAsync(Request(new VolumeLimits { PerKey = new LimitSet { RequestsPerMinute = 5, RequestsPerDay = 50 } }), default);

        clock.Advance(TimeSpan.FromHours(1));
        await limiter.SweepAsync(default);
        var afterAnHour = await CountersAsync();
        clock.Advance(TimeSpan.FromDays(1));
        await limiter.SweepAsync(default);

        Assert.Equal(["ws_1|per-key|key_1|requests|day"], afterAnHour);
        Assert.Empty(await CountersAsync());
    }

    private async Task<List<string>> CountersAsync()
    {
        await using var db = Db.Postgres(_connectionString);
        await using var connection = await db.OpenAsync();
        return [.. await connection.QueryAsync<string>("SELECT counter FROM limit_buckets ORDER BY counter")];
    }

    private PostgresVolumeLimiter Limiter(string connectionString, TimeProvider clock, string? whenUnavailable = null)
    {
        var db = Db.Postgres(connectionString);
        _disposables.Add(db);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [PostgresVolumeLimiter.UnavailableSetting] = whenUnavailable,
            // The production wait (2 s) is for a database that is gone. A hundred acquisitions queued on one advisory lock
            // can wait longer than that on a slow, shared machine, and each that does is counted locally by design,
            // admitting more than the limit: seen here as 26, 30 and 38 of 25. These tests are about the counting.
            ["Rampart:Limits:DatabaseTimeoutSeconds"] = "30",
        }).Build();
        return new PostgresVolumeLimiter(db, clock, configuration, NullLogger<PostgresVolumeLimiter>.Instance);
    }

    private static LimitRequest Request(VolumeLimits limits, long estimate = 10) => new("ws_1", "usr_1", "key_1", limits, estimate);
}
