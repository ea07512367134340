using System.Collections.Concurrent;

namespace Rampart.Dashboard;

/// <summary>
/// Locks an account's dashboard sign-in for <see cref="LockoutDuration"/> after <see cref="MaxFailures"/> wrong
/// passwords in a row. Kept in memory: a restart forgets it, and each gateway instance counts on its own (so with N
/// instances behind a balancer an attacker gets at most N×5 tries per 15 minutes). API keys are not affected.
/// </summary>
internal sealed class SignInThrottle(TimeProvider time)
{
    public const int MaxFailures = 5;
    public static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);

    private readonly ConcurrentDictionary<string, State> _states = new(StringComparer.Ordinal);

    /// <summary>When the account is locked, until when; null when a sign-in may be tried.</summary>
    public DateTimeOffset? LockedUntil(string email)
    {
        if (_states.TryGetValue(Key(email), out var state) && state.LockedUntil is { } until)
        {
            if (until > time.GetUtcNow())
            {
                return until;
            }

            _states.TryRemove(Key(email), out _);
        }

        return null;
    }

    /// <summary>Counts a failure; returns when the account became locked, if this failure locked it.</summary>
    public DateTimeOffset? Failed(string email)
    {
        var state = _states.AddOrUpdate(
            Key(email),
            _ => new State(1, null),
            (_, s) => s.LockedUntil is not null ? s : new State(s.Failures + 1, null));
        if (state.Failures >= MaxFailures && state.LockedUntil is null)
        {
            var until = time.GetUtcNow() + LockoutDuration;
            _states[Key(email)] = new State(state.Failures, until);
            return until;
        }

        return null;
    }

    public void Succeeded(string email) => _states.TryRemove(Key(email), out _);

    private static string Key(string email) => email.Trim().ToLowerInvariant();

    private sealed record State(int Failures, DateTimeOffset? LockedUntil);
}
