using System.Collections.Concurrent;
using Npgsql;
using NpgsqlTypes;
using Rampart.Data;

namespace Rampart.Limits;

/// <summary>
/// Volume limits shared by every gateway instance on one PostgreSQL, with the in-memory limiter's windows and answers.
/// Each counter (workspace, scope, id, requests or tokens, window) is a set of rows in <c>limit_buckets</c>, one per
/// bucket of its <see cref="LimitWindow"/>; the month's spend is a row in <c>limit_spend</c>.
/// <para>
/// Admission is one round trip: a batch that takes the workspace's transaction-scoped advisory lock, reads the live
/// buckets and the spend, and adds the request to the current buckets only if every limit still has room. Everything
/// that changes a workspace's counters takes that lock, so the counts the batch reads are the counts it adds to, and the
/// answer (with its <c>Retry-After</c> and <c>x-ratelimit-*</c> values) is computed by <see cref="LimitDecisions"/> from
/// exactly that state: request limits are exact across instances, never over-admitting. Requests whose workspace sets no
/// limit never reach this class, and a policy with only a budget and no rate limits reads one row.
/// </para>
/// <para>
/// Settling (the real tokens and cost) is another locked round trip, before the answer leaves. If PostgreSQL cannot be
/// reached, settlements wait in memory and are retried; admission falls back to counting in this process
/// (<c>Rampart:Limits:WhenDatabaseUnavailable</c> = <c>local</c>, the default) or refuses limited requests with 503
/// (<c>refuse</c>), and the database is tried again after a second.
/// </para>
/// </summary>
internal sealed partial class PostgresVolumeLimiter : BackgroundService, IVolumeLimiter
{
    public const string UnavailableSetting = "Rampart:Limits:WhenDatabaseUnavailable";

    private const int MaxPendingSettlements = 100_000;
    private static readonly TimeSpan RetryDatabaseAfter = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    /// <summary>Buckets stay a while past their window before they are deleted, so an instance whose clock runs behind still sees them.</summary>
    private static readonly long SweepMarginMilliseconds = (long)TimeSpan.FromMinutes(10).TotalMilliseconds;

    private readonly Db _db;
    private readonly TimeProvider _time;
    private readonly ILogger<PostgresVolumeLimiter> _logger;
    private readonly InMemoryVolumeLimiter _local;
    private readonly bool _refuseWhenUnavailable;
    private readonly ConcurrentQueue<(LimitTicket Ticket, long Tokens, decimal CostUsd, DateTimeOffset At)> _pending = new();
    private long _databaseRetryAt;

    public PostgresVolumeLimiter(Db db, TimeProvider time, IConfiguration configuration, ILogger<PostgresVolumeLimiter> logger)
    {
        // Short waits: a request must not hang on a database that is gone; the fallback answers instead.
        _db = db.WithCommandTimeout(configuration.GetValue("Rampart:Limits:DatabaseTimeoutSeconds", 2));
        _time = time;
        _logger = logger;
        _local = new InMemoryVolumeLimiter(time);
        _refuseWhenUnavailable = configuration[UnavailableSetting] switch
        {
            null or "" or "local" => false,
            "refuse" => true,
            var other => throw new InvalidOperationException($"{UnavailableSetting} is '{other}': use 'local' (count in this instance) or 'refuse' (503)."),
        };
    }

    public async ValueTask<LimitDecision> AcquireAsync(LimitRequest request, CancellationToken cancellationToken)
    {
        var checks = LimitCheck.For(request);
        var budget = request.Limits.MonthlyBudgetUsd;
        if (checks.Count == 0 && budget is null)
        {
            return LimitDecisions.Decide(request, [], 0, _time.GetUtcNow());
        }

        if (!DatabaseMayBeUp())
        {
            return await UnavailableAsync(request, cancellationToken);
        }

        var now = _time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        try
        {
            await using var connection = (NpgsqlConnection)await _db.OpenAsync(cancellationToken);
            await using var batch = new NpgsqlBatch(connection);
            AddLock(batch, request.WorkspaceId);
            var counters = checks.Select(c => Counter(request.WorkspaceId, c)).ToArray();
            var firsts = checks.Select(c => c.Window.BucketAt(nowMs) - c.Window.Buckets + 1).ToArray();
            // Buckets ahead of this instance's clock count too (another instance's clock may run ahead): a skew can
            // only keep a request counted a little longer, never let one through uncounted.
            batch.BatchCommands.Add(Command(
                """
                SELECT b.counter, b.bucket, b.amount
                FROM limit_buckets b JOIN unnest(@counters, @firsts) AS c(counter, first) ON b.counter = c.counter AND b.bucket >= c.first
                """,
                ("counters", counters), ("firsts", firsts)));
            batch.BatchCommands.Add(Command(
                "SELECT COALESCE(SUM(spent_usd), 0) FROM limit_spend WHERE workspace_id = @workspace AND month = @month",
                ("workspace", request.WorkspaceId), ("month", LimitDecisions.MonthOf(now))));
            // The same test as LimitDecisions.Decide, in SQL, so the request is counted in the statement that checks it.
            batch.BatchCommands.Add(Command(
                """
                INSERT INTO limit_buckets (counter, bucket, amount, expires_at)
                SELECT c.counter, c.bucket, c.need, c.expires_at
                FROM unnest(@counters, @currents, @needs, @expires) AS c(counter, bucket, need, expires_at)
                WHERE NOT EXISTS (
                    SELECT 1 FROM unnest(@counters, @firsts, @needs, @limits) AS k(counter, first, need, lim)
                    WHERE (SELECT COALESCE(SUM(b.amount), 0) FROM limit_buckets b WHERE b.counter = k.counter AND b.bucket >= k.first) + k.need > k.lim)
                  AND (CAST(@budget AS NUMERIC) IS NULL
                       OR (SELECT COALESCE(SUM(spent_usd), 0) FROM limit_spend WHERE workspace_id = @workspace AND month = @month) < @budget)
                ON CONFLICT (counter, bucket) DO UPDATE SET amount = limit_buckets.amount + excluded.amount
                """,
                ("counters", counters), ("firsts", firsts),
                ("currents", checks.Select(c => c.Window.BucketAt(nowMs)).ToArray()),
                ("needs", checks.Select(c => c.Need(request)).ToArray()),
                ("expires", checks.Select(c => c.Window.ExpiresAt(c.Window.BucketAt(nowMs))).ToArray()),
                ("limits", checks.Select(c => c.Limit).ToArray()),
                ("budget", budget is { } b ? b : DBNull.Value), ("workspace", request.WorkspaceId), ("month", LimitDecisions.MonthOf(now))));

            var live = counters.ToDictionary(c => c, _ => new List<LimitBucket>(), StringComparer.Ordinal);
            decimal spent;
            await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
            {
                await reader.NextResultAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    live[reader.GetString(0)].Add(new LimitBucket(reader.GetInt64(1), reader.GetInt64(2)));
                }

                await reader.NextResultAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                spent = reader.GetDecimal(0);
            }

            return LimitDecisions.Decide(request, [.. checks.Select((c, i) => (c, (IReadOnlyList<LimitBucket>)live[counters[i]]))], spent, now);
        }
        catch (Exception ex) when (IsDatabaseFailure(ex, cancellationToken))
        {
            DatabaseFailed(ex);
            return await UnavailableAsync(request, cancellationToken);
        }
    }

    public async ValueTask SettleAsync(LimitTicket ticket, long tokens, decimal costUsd, CancellationToken cancellationToken)
    {
        if (ticket.CountedLocally)
        {
            await _local.SettleAsync(ticket, tokens, costUsd, cancellationToken);
            return;
        }

        if (!ticket.Request.Limits.HasTokenLimits && ticket.Request.Limits.MonthlyBudgetUsd is null)
        {
            // Only request limits: nothing to correct.
            return;
        }

        var settlement = (ticket, tokens, costUsd, _time.GetUtcNow());
        if (!DatabaseMayBeUp() || !_pending.IsEmpty)
        {
            // Behind earlier settlements that wait for the database; the background loop writes them in order.
            Enqueue(settlement);
            return;
        }

        try
        {
            await WriteSettlementsAsync([settlement], cancellationToken);
        }
        catch (Exception ex) when (IsDatabaseFailure(ex, cancellationToken))
        {
            DatabaseFailed(ex);
            Enqueue(settlement);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_db.Dialect != SqlDialect.Postgres)
        {
            return;
        }

        using var timer = new PeriodicTimer(RetryDatabaseAfter);
        var nextSweep = _time.GetUtcNow();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await FlushPendingAsync(stoppingToken);
                    if (_time.GetUtcNow() >= nextSweep)
                    {
                        await SweepAsync(stoppingToken);
                        nextSweep = _time.GetUtcNow() + SweepInterval;
                    }
                }
                catch (Exception ex) when (IsDatabaseFailure(ex, stoppingToken))
                {
                    DatabaseFailed(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down; StopAsync makes a last attempt at what is pending.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await FlushPendingAsync(cancellationToken);
        }
        catch (Exception ex) when (IsDatabaseFailure(ex, cancellationToken))
        {
            LogSettlementsLost(ex, _pending.Count);
        }
    }

    /// <summary>Deletes buckets that have left their window (with a margin) and the spend of months before last.</summary>
    internal async Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        await using var connection = (NpgsqlConnection)await _db.OpenAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(Command("DELETE FROM limit_buckets WHERE expires_at < @cutoff", ("cutoff", now.ToUnixTimeMilliseconds() - SweepMarginMilliseconds)));
        batch.BatchCommands.Add(Command("DELETE FROM limit_spend WHERE month < @month", ("month", LimitDecisions.MonthOf(now) - 1)));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task FlushPendingAsync(CancellationToken cancellationToken)
    {
        while (!_pending.IsEmpty)
        {
            var chunk = _pending.Take(500).ToList();
            await WriteSettlementsAsync(chunk, cancellationToken);
            for (var i = 0; i < chunk.Count; i++)
            {
                _pending.TryDequeue(out _);
            }
        }
    }

    /// <summary>
    /// Corrects each ticket's token reservation to its real usage, in the buckets it was counted in, and adds its cost
    /// to the workspace's month — under each workspace's lock, in workspace order so two writers never deadlock.
    /// </summary>
    private async Task WriteSettlementsAsync(IReadOnlyList<(LimitTicket Ticket, long Tokens, decimal CostUsd, DateTimeOffset At)> settlements, CancellationToken cancellationToken)
    {
        await using var connection = (NpgsqlConnection)await _db.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var workspace in settlements.Select(s => s.Ticket.Request.WorkspaceId).Distinct().Order(StringComparer.Ordinal))
        {
            AddLock(batch, workspace);
        }

        foreach (var (ticket, tokens, costUsd, at) in settlements)
        {
            var delta = tokens - ticket.ReservedTokens;
            var tokenChecks = LimitCheck.For(ticket.Request).Where(c => c.Tokens).ToList();
            if (delta != 0 && tokenChecks.Count > 0)
            {
                batch.BatchCommands.Add(Command(
                    """
                    UPDATE limit_buckets b SET amount = GREATEST(0, b.amount + @delta)
                    FROM unnest(@counters, @buckets) AS c(counter, bucket) WHERE b.counter = c.counter AND b.bucket = c.bucket
                    """,
                    ("delta", delta),
                    ("counters", tokenChecks.Select(c => Counter(ticket.Request.WorkspaceId, c)).ToArray()),
                    ("buckets", tokenChecks.Select(c => c.Window.BucketAt(ticket.AtUnixMilliseconds)).ToArray())));
            }

            if (costUsd > 0)
            {
                batch.BatchCommands.Add(Command(
                    """
                    INSERT INTO limit_spend (workspace_id, month, spent_usd) VALUES (@workspace, @month, @cost)
                    ON CONFLICT (workspace_id, month) DO UPDATE SET spent_usd = limit_spend.spent_usd + excluded.spent_usd
                    """,
                    ("workspace", ticket.Request.WorkspaceId), ("month", LimitDecisions.MonthOf(at)), ("cost", costUsd)));
            }
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private async ValueTask<LimitDecision> UnavailableAsync(LimitRequest request, CancellationToken cancellationToken)
    {
        if (_refuseWhenUnavailable)
        {
            return new LimitDecision(null, "the shared limit counters are unreachable", false, RetryDatabaseAfter, null, null) { Unavailable = true };
        }

        var decision = await _local.AcquireAsync(request, cancellationToken);
        return decision.Ticket is { } ticket ? decision with { Ticket = ticket with { CountedLocally = true } } : decision;
    }

    private void Enqueue((LimitTicket, long, decimal, DateTimeOffset) settlement)
    {
        if (_pending.Count >= MaxPendingSettlements)
        {
            LogSettlementsLost(null, 1);
            return;
        }

        _pending.Enqueue(settlement);
    }

    private bool DatabaseMayBeUp() => Environment.TickCount64 >= Interlocked.Read(ref _databaseRetryAt);

    private void DatabaseFailed(Exception exception)
    {
        var retryAt = Environment.TickCount64 + (long)RetryDatabaseAfter.TotalMilliseconds;
        if (Interlocked.Exchange(ref _databaseRetryAt, retryAt) <= Environment.TickCount64 - (long)RetryDatabaseAfter.TotalMilliseconds)
        {
            // Once per outage, not once per request.
            LogDatabaseUnavailable(exception, _refuseWhenUnavailable ? "refusing limited requests" : "counting in this instance");
        }
    }

    /// <summary>The database could not answer (down, cut off, too slow) — not a mistake in a statement (SQLSTATE class 42), which must surface.</summary>
    private static bool IsDatabaseFailure(Exception exception, CancellationToken cancellationToken) =>
        exception switch
        {
            PostgresException postgres => !postgres.SqlState.StartsWith("42", StringComparison.Ordinal),
            NpgsqlException or TimeoutException => true,
            OperationCanceledException => !cancellationToken.IsCancellationRequested,
            _ => false,
        };

    /// <summary>Every change to a workspace's counters holds this lock until its transaction ends.</summary>
    private static void AddLock(NpgsqlBatch batch, string workspaceId) =>
        batch.BatchCommands.Add(Command("SELECT pg_advisory_xact_lock(hashtextextended(@lock, 0))", ("lock", "rampart-limits:" + workspaceId)));

    private static string Counter(string workspaceId, LimitCheck check) =>
        $"{workspaceId}|{check.Scope}|{check.Id}|{(check.Tokens ? "tokens" : "requests")}|{check.Window.Name}";

    private static NpgsqlBatchCommand Command(string sql, params (string Name, object Value)[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.Add(value is DBNull ? new NpgsqlParameter(name, NpgsqlDbType.Numeric) { Value = value } : new NpgsqlParameter(name, value));
        }

        return command;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL is unreachable for shared volume limits; {Fallback} until it answers again")]
    private partial void LogDatabaseUnavailable(Exception exception, string fallback);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} volume-limit settlements could not be written and are dropped")]
    private partial void LogSettlementsLost(Exception? exception, int count);
}
