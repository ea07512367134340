namespace Rampart.Limits;

/// <summary>
/// A sliding rate window made of fixed buckets — a minute of 60 one-second buckets, a day of 144 ten-minute buckets. A
/// bucket counts from the moment it begins until a full window has passed since then, so a request stops counting between
/// 59 and 60 seconds (23 h 50 min and 24 h) after it was made.
/// </summary>
internal sealed record LimitWindow(string Name, int Buckets, long BucketMilliseconds)
{
    public static readonly LimitWindow Minute = new("minute", 60, 1_000);
    public static readonly LimitWindow Day = new("day", 144, 600_000);

    public TimeSpan Length => TimeSpan.FromMilliseconds(Buckets * BucketMilliseconds);

    public long BucketAt(long unixMilliseconds) => unixMilliseconds / BucketMilliseconds;

    /// <summary>Whether bucket <paramref name="id"/> counts in the window that ends with bucket <paramref name="current"/>.</summary>
    public bool IsLive(long id, long current) => id > current - Buckets && id <= current;

    /// <summary>When bucket <paramref name="id"/> stops counting, from <paramref name="nowMs"/>.</summary>
    public TimeSpan Expiry(long id, long nowMs) => TimeSpan.FromMilliseconds(((id + Buckets) * BucketMilliseconds) - nowMs);

    /// <summary>The unix-millisecond time at which bucket <paramref name="id"/> stops counting.</summary>
    public long ExpiresAt(long id) => (id + Buckets) * BucketMilliseconds;

    /// <summary>How long until <paramref name="need"/> more fits under <paramref name="limit"/>, as the oldest live buckets leave the window.</summary>
    public TimeSpan TimeUntilFits(IEnumerable<LimitBucket> live, long nowMs, long need, long limit)
    {
        if (need > limit)
        {
            return Length;
        }

        var buckets = live.Where(b => b.Count > 0).OrderBy(b => b.Id).ToList();
        var total = buckets.Sum(b => b.Count);
        foreach (var bucket in buckets)
        {
            total -= bucket.Count;
            if (total + need <= limit)
            {
                return Expiry(bucket.Id, nowMs);
            }
        }

        return Length;
    }

    /// <summary>How long until nothing counted now counts any more.</summary>
    public TimeSpan TimeUntilEmpty(IEnumerable<LimitBucket> live, long nowMs)
    {
        var newest = live.Where(b => b.Count > 0).Select(b => (long?)b.Id).Max();
        return newest is { } id ? Expiry(id, nowMs) : TimeSpan.Zero;
    }
}

/// <summary>One bucket of a window: its number (unix milliseconds ÷ the bucket's width) and what was counted in it.</summary>
internal readonly record struct LimitBucket(long Id, long Count);

/// <summary>One limit a request is checked against: a scope (per-key, per-user, per-workspace), requests or tokens, a window.</summary>
internal sealed record LimitCheck(string Scope, string Id, bool Tokens, LimitWindow Window, long Limit)
{
    public string Label => $"{Scope} {(Tokens ? "tokens" : "requests")} per {Window.Name}";

    /// <summary>
    /// What a request takes from this limit: one request slot, or its estimate in tokens — at most the whole limit, so that
    /// a big request still passes an idle window.
    /// </summary>
    public long Need(LimitRequest request) => Tokens ? Math.Max(1, Math.Min(request.EstimatedTokens, Limit)) : 1;

    /// <summary>Every limit that applies to <paramref name="request"/>, in a fixed order.</summary>
    public static List<LimitCheck> For(LimitRequest request)
    {
        var checks = new List<LimitCheck>();
        var limits = request.Limits;
        Add(checks, "per-key", request.KeyId, limits.PerKey);
        Add(checks, "per-user", request.UserId, limits.PerUser);
        Add(checks, "per-workspace", "", limits.PerWorkspace);
        return checks;
    }

    private static void Add(List<LimitCheck> checks, string scope, string id, LimitSet? set)
    {
        if (set is null)
        {
            return;
        }

        foreach (var (tokens, window, limit) in new[]
        {
            (false, LimitWindow.Minute, set.RequestsPerMinute), (false, LimitWindow.Day, set.RequestsPerDay),
            (true, LimitWindow.Minute, set.TokensPerMinute), (true, LimitWindow.Day, set.TokensPerDay),
        })
        {
            if (limit is { } value)
            {
                checks.Add(new LimitCheck(scope, id, tokens, window, value));
            }
        }
    }
}

/// <summary>
/// The decision both limiters share, from the live buckets of each check and the month's spend: refused on the limit that
/// frees last (so <c>Retry-After</c> is when the request would really pass), or allowed; the tightest request and token
/// limits feed the <c>x-ratelimit-*</c> headers either way.
/// </summary>
internal static class LimitDecisions
{
    public static LimitDecision Decide(LimitRequest request, IReadOnlyList<(LimitCheck Check, IReadOnlyList<LimitBucket> Live)> state, decimal spentThisMonth, DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        string? exceeded = null;
        var tokensExceeded = false;
        var wait = TimeSpan.Zero;
        foreach (var (check, live) in state)
        {
            var need = check.Need(request);
            if (live.Sum(b => b.Count) + need > check.Limit)
            {
                var until = check.Window.TimeUntilFits(live, nowMs, need, check.Limit);
                if (exceeded is null || until > wait)
                {
                    (exceeded, tokensExceeded, wait) = ($"{check.Label} ({check.Limit})", check.Tokens, until);
                }
            }
        }

        if (request.Limits.MonthlyBudgetUsd is { } budget && spentThisMonth >= budget)
        {
            var nextMonth = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
            if (exceeded is null || nextMonth - now > wait)
            {
                (exceeded, tokensExceeded, wait) = ($"monthly budget (${budget.ToString("0.00####", System.Globalization.CultureInfo.InvariantCulture)})", false, nextMonth - now);
            }
        }

        var allowed = exceeded is null;
        var ticket = allowed ? new LimitTicket(request, request.EstimatedTokens, nowMs) : null;
        // The headers describe the state after this request: an admitted one has taken its share.
        return new LimitDecision(ticket, exceeded, tokensExceeded, wait,
            Tightest(state.Where(s => !s.Check.Tokens), request, allowed, nowMs), Tightest(state.Where(s => s.Check.Tokens), request, allowed, nowMs));
    }

    /// <summary>The calendar month (UTC) as one number, for budgets.</summary>
    public static int MonthOf(DateTimeOffset time) => (time.Year * 12) + time.Month - 1;

    private static LimitStatus? Tightest(IEnumerable<(LimitCheck Check, IReadOnlyList<LimitBucket> Live)> state, LimitRequest request, bool allowed, long nowMs) =>
        state.Select(s =>
            {
                var live = allowed ? s.Live.Append(new LimitBucket(s.Check.Window.BucketAt(nowMs), s.Check.Need(request))).ToList() : s.Live;
                return new LimitStatus(s.Check.Limit, Math.Max(0, s.Check.Limit - live.Sum(b => b.Count)), s.Check.Window.TimeUntilEmpty(live, nowMs));
            })
            .OrderBy(s => s.Remaining).ThenBy(s => s.Limit).FirstOrDefault();
}
