namespace Rampart.Limits;

/// <summary>
/// Counts requests, tokens and spend against a workspace's <see cref="VolumeLimits"/>. Admission checks every limit
/// and reserves the request (and its estimated tokens) in one atomic step; settling replaces the estimate with the
/// provider's reported usage. <see cref="InMemoryVolumeLimiter"/> is exact within one process (SQLite);
/// <see cref="PostgresVolumeLimiter"/> is exact across every instance sharing one PostgreSQL.
/// </summary>
internal interface IVolumeLimiter
{
    ValueTask<LimitDecision> AcquireAsync(LimitRequest request, CancellationToken cancellationToken);

    /// <param name="tokens">The tokens the request really used (its reservation's estimate when the provider reported none).</param>
    /// <param name="costUsd">The request's estimated cost, counted against the monthly budget.</param>
    ValueTask SettleAsync(LimitTicket ticket, long tokens, decimal costUsd, CancellationToken cancellationToken);
}

/// <summary>One request asking to pass: who sends it, under which limits, and the tokens it is expected to use.</summary>
internal sealed record LimitRequest(string WorkspaceId, string UserId, string KeyId, VolumeLimits Limits, long EstimatedTokens);

/// <summary>
/// The answer: allowed (with a <see cref="Ticket"/> to settle), or the limit that was hit and when to retry. The
/// status of the tightest request and token limits feeds the <c>x-ratelimit-*</c> headers either way.
/// </summary>
internal sealed record LimitDecision(LimitTicket? Ticket, string? Exceeded, bool TokensExceeded, TimeSpan RetryAfter, LimitStatus? Requests, LimitStatus? Tokens)
{
    public bool Allowed => Exceeded is null;

    /// <summary>Refused because the shared counters could not be reached (and the gateway is set to refuse then), not because a limit was hit.</summary>
    public bool Unavailable { get; init; }
}

/// <summary>One limit's state: its size, what is left, and how long until it is fully free again.</summary>
internal sealed record LimitStatus(long Limit, long Remaining, TimeSpan Reset);

/// <summary>
/// What an admitted request reserved, so that settling can correct exactly those counts. <see cref="CountedLocally"/>:
/// the shared counters were unreachable and this instance counted the request on its own.
/// </summary>
internal sealed record LimitTicket(LimitRequest Request, long ReservedTokens, long AtUnixMilliseconds, bool CountedLocally = false);
