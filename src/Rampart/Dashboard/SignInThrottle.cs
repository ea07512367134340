using Dapper;
using Rampart.Data;

namespace Rampart.Dashboard;

/// <summary>
/// Locks an account's dashboard sign-in for <see cref="LockoutDuration"/> after <see cref="MaxFailures"/> wrong
/// passwords in a row. Counted in the database (<c>sign_in_failures</c>), so every gateway instance on one PostgreSQL
/// shares one count — an attacker gets five tries per 15 minutes, not five per instance — and a restart does not reset
/// it. Sign-in is rare, so the round trips cost nothing that matters. API keys are not affected. Failures are
/// remembered for <see cref="FailureMemory"/> after the last one: every failure deletes the rows older than that, so
/// addresses typed in by anyone cannot grow the table without bound.
/// </summary>
internal sealed class SignInThrottle(Db db, TimeProvider time)
{
    public const int MaxFailures = 5;
    public static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan FailureMemory = TimeSpan.FromHours(24);

    /// <summary>When the account is locked, until when; null when a sign-in may be tried.</summary>
    public async Task<DateTimeOffset?> LockedUntilAsync(string email, CancellationToken cancellationToken)
    {
        var now = Now;
        await using var connection = await db.OpenAsync(cancellationToken);
        var until = await connection.ExecuteScalarAsync<long?>(
            "SELECT locked_until FROM sign_in_failures WHERE email = @Email", new { Email = Key(email), cancellationToken });
        if (until is not { } lockedUntil)
        {
            return null;
        }

        if (lockedUntil > now)
        {
            return DateTimeOffset.FromUnixTimeMilliseconds(lockedUntil);
        }

        // The lock-out is over: the count starts again from zero.
        await connection.ExecuteAsync(
            "DELETE FROM sign_in_failures WHERE email = @Email AND locked_until <= @Now", new { Email = Key(email), Now = now, cancellationToken });
        return null;
    }

    /// <summary>Counts a failure; returns when the account became locked, if this failure locked it.</summary>
    public async Task<DateTimeOffset?> FailedAsync(string email, CancellationToken cancellationToken)
    {
        var now = Now;
        await using var connection = await db.OpenAsync(cancellationToken);
        // First the rows nobody has added to for a day (a lock-out ends long before): this address's own count starts
        // again too if it is one of them.
        await connection.ExecuteAsync(
            "DELETE FROM sign_in_failures WHERE updated_at < @Cutoff", new { Cutoff = now - (long)FailureMemory.TotalMilliseconds, cancellationToken });
        // Each statement is atomic on its own: concurrent failures (on any instance) all count, and exactly one of them locks.
        await connection.ExecuteAsync(
            """
            INSERT INTO sign_in_failures (email, failures, locked_until, updated_at) VALUES (@Email, 1, NULL, @Now)
            ON CONFLICT (email) DO UPDATE SET
                failures = CASE WHEN sign_in_failures.locked_until IS NULL THEN sign_in_failures.failures + 1
                                WHEN sign_in_failures.locked_until <= @Now THEN 1
                                ELSE sign_in_failures.failures END,
                locked_until = CASE WHEN sign_in_failures.locked_until <= @Now THEN NULL ELSE sign_in_failures.locked_until END,
                updated_at = @Now
            """,
            new { Email = Key(email), Now = now, cancellationToken });
        var locked = await connection.ExecuteScalarAsync<long?>(
            "UPDATE sign_in_failures SET locked_until = @Until WHERE email = @Email AND locked_until IS NULL AND failures >= @Max RETURNING locked_until",
            new { Email = Key(email), Until = now + (long)LockoutDuration.TotalMilliseconds, Max = MaxFailures, cancellationToken });
        return locked is { } until ? DateTimeOffset.FromUnixTimeMilliseconds(until) : null;
    }

    public async Task SucceededAsync(string email, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await connection.ExecuteAsync("DELETE FROM sign_in_failures WHERE email = @Email", new { Email = Key(email), cancellationToken });
    }

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    private static string Key(string email) => email.Trim().ToLowerInvariant();
}
