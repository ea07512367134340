using System.Collections.Concurrent;

namespace Rampart.Limits;

/// <summary>
/// Volume limits counted in this process, exactly: each workspace's counters sit behind one lock, so checking every
/// limit and reserving the request is atomic. Rates use sliding windows made of buckets — a minute of 60 one-second
/// buckets, a day of 144 ten-minute buckets — so a request stops counting between 59 and 60 seconds (23 h 50 min and
/// 24 h) after it was made: the worst case lets a limit's worth of requests through in any one bucket's width less than
/// the full window. The budget is a fixed window, the calendar month in UTC.
/// </summary>
internal sealed class InMemoryVolumeLimiter(TimeProvider time) : IVolumeLimiter
{
    internal static readonly Window Minute = new("minute", 60, 1_000);
    internal static readonly Window Day = new("day", 144, 600_000);

    private readonly ConcurrentDictionary<string, WorkspaceCounters> _workspaces = new(StringComparer.Ordinal);

    public ValueTask<LimitDecision> AcquireAsync(LimitRequest request, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var state = _workspaces.GetOrAdd(request.WorkspaceId, _ => new WorkspaceCounters());
        lock (state)
        {
            var checks = state.Checks(request);
            string? exceeded = null;
            var tokensExceeded = false;
            var wait = TimeSpan.Zero;
            foreach (var check in checks)
            {
                var need = Need(check, request);
                if (check.Counter.Total(nowMs) + need > check.Limit)
                {
                    var until = check.Counter.TimeUntilFits(nowMs, need, check.Limit);
                    if (exceeded is null || until > wait)
                    {
                        (exceeded, tokensExceeded, wait) = ($"{check.Label} ({check.Limit})", check.Tokens, until);
                    }
                }
            }

            if (request.Limits.MonthlyBudgetUsd is { } budget && state.SpentIn(MonthOf(now)) >= budget)
            {
                var nextMonth = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
                if (exceeded is null || nextMonth - now > wait)
                {
                    (exceeded, tokensExceeded, wait) = ($"monthly budget (${budget.ToString("0.00####", System.Globalization.CultureInfo.InvariantCulture)})", false, nextMonth - now);
                }
            }

            LimitTicket? ticket = null;
            if (exceeded is null)
            {
                foreach (var check in checks)
                {
                    check.Counter.Add(nowMs, Need(check, request));
                }

                ticket = new LimitTicket(request, request.EstimatedTokens, nowMs);
            }

            return ValueTask.FromResult(new LimitDecision(ticket, exceeded, tokensExceeded, wait,
                Tightest(checks.Where(c => !c.Tokens), nowMs), Tightest(checks.Where(c => c.Tokens), nowMs)));
        }
    }

    public ValueTask SettleAsync(LimitTicket ticket, long tokens, decimal costUsd, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (!_workspaces.TryGetValue(ticket.Request.WorkspaceId, out var state))
        {
            return ValueTask.CompletedTask;
        }

        lock (state)
        {
            var delta = tokens - ticket.ReservedTokens;
            if (delta != 0)
            {
                foreach (var check in state.Checks(ticket.Request).Where(c => c.Tokens))
                {
                    check.Counter.Adjust(ticket.AtUnixMilliseconds, delta, now.ToUnixTimeMilliseconds());
                }
            }

            state.Spend(MonthOf(now), costUsd);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>A request needs one request slot, and its estimate in tokens — at most the whole limit, so that a big request still passes an idle window.</summary>
    private static long Need(Check check, LimitRequest request) =>
        check.Tokens ? Math.Max(1, Math.Min(request.EstimatedTokens, check.Limit)) : 1;

    private static int MonthOf(DateTimeOffset time) => (time.Year * 12) + time.Month - 1;

    private static LimitStatus? Tightest(IEnumerable<Check> checks, long nowMs) =>
        checks.Select(c => new LimitStatus(c.Limit, Math.Max(0, c.Limit - c.Counter.Total(nowMs)), c.Counter.TimeUntilEmpty(nowMs)))
            .OrderBy(s => s.Remaining).ThenBy(s => s.Limit).FirstOrDefault();

    internal sealed record Window(string Name, int Buckets, long BucketMilliseconds)
    {
        public TimeSpan Length => TimeSpan.FromMilliseconds(Buckets * BucketMilliseconds);
    }

    private sealed record Check(string Label, long Limit, bool Tokens, SlidingCounter Counter);

    /// <summary>One workspace's counters (per key, per user, for the workspace) and its spend per month.</summary>
    private sealed class WorkspaceCounters
    {
        private readonly Dictionary<(string Scope, string Id, bool Tokens, string Window), SlidingCounter> _counters = [];
        private readonly Dictionary<int, decimal> _spent = [];

        public List<Check> Checks(LimitRequest request)
        {
            var checks = new List<Check>();
            var limits = request.Limits;
            Add(checks, "per-key", request.KeyId, limits.PerKey);
            Add(checks, "per-user", request.UserId, limits.PerUser);
            Add(checks, "per-workspace", "", limits.PerWorkspace);
            return checks;
        }

        public decimal SpentIn(int month) => _spent.GetValueOrDefault(month);

        public void Spend(int month, decimal amount)
        {
            if (amount > 0)
            {
                _spent[month] = _spent.GetValueOrDefault(month) + amount;
            }
        }

        private void Add(List<Check> checks, string scope, string id, LimitSet? set)
        {
            if (set is null)
            {
                return;
            }

            Check(checks, scope, id, "requests", Minute, set.RequestsPerMinute);
            Check(checks, scope, id, "requests", Day, set.RequestsPerDay);
            Check(checks, scope, id, "tokens", Minute, set.TokensPerMinute);
            Check(checks, scope, id, "tokens", Day, set.TokensPerDay);
        }

        private void Check(List<Check> checks, string scope, string id, string metric, Window window, long? limit)
        {
            if (limit is not { } value)
            {
                return;
            }

            var tokens = metric == "tokens";
            var key = (scope, id, tokens, window.Name);
            if (!_counters.TryGetValue(key, out var counter))
            {
                counter = _counters[key] = new SlidingCounter(window);
            }

            checks.Add(new Check($"{scope} {metric} per {window.Name}", value, tokens, counter));
        }
    }

    /// <summary>A sliding window of fixed buckets in a ring; a bucket counts until a full window has passed since it began.</summary>
    internal sealed class SlidingCounter(Window window)
    {
        private readonly long[] _ids = new long[window.Buckets];
        private readonly long[] _counts = new long[window.Buckets];

        public long Total(long nowMs)
        {
            var current = nowMs / window.BucketMilliseconds;
            long total = 0;
            for (var slot = 0; slot < _ids.Length; slot++)
            {
                if (IsLive(_ids[slot], current))
                {
                    total += _counts[slot];
                }
            }

            return total;
        }

        public void Add(long nowMs, long amount)
        {
            var id = nowMs / window.BucketMilliseconds;
            var slot = (int)(id % window.Buckets);
            if (_ids[slot] != id)
            {
                _ids[slot] = id;
                _counts[slot] = 0;
            }

            _counts[slot] += amount;
        }

        /// <summary>Corrects what was added at <paramref name="atMs"/>, if its bucket still counts.</summary>
        public void Adjust(long atMs, long delta, long nowMs)
        {
            var id = atMs / window.BucketMilliseconds;
            var slot = (int)(id % window.Buckets);
            if (_ids[slot] == id && IsLive(id, nowMs / window.BucketMilliseconds))
            {
                _counts[slot] = Math.Max(0, _counts[slot] + delta);
            }
        }

        /// <summary>How long until <paramref name="need"/> more fits under <paramref name="limit"/>, as the oldest buckets leave the window.</summary>
        public TimeSpan TimeUntilFits(long nowMs, long need, long limit)
        {
            if (need > limit)
            {
                return window.Length;
            }

            var current = nowMs / window.BucketMilliseconds;
            var total = Total(nowMs);
            foreach (var (id, count) in Live(current).OrderBy(b => b.Id))
            {
                total -= count;
                if (total + need <= limit)
                {
                    return Expiry(id, nowMs);
                }
            }

            return window.Length;
        }

        /// <summary>How long until nothing counted now counts any more.</summary>
        public TimeSpan TimeUntilEmpty(long nowMs)
        {
            var live = Live(nowMs / window.BucketMilliseconds).ToList();
            return live.Count == 0 ? TimeSpan.Zero : Expiry(live.Max(b => b.Id), nowMs);
        }

        private IEnumerable<(long Id, long Count)> Live(long current)
        {
            for (var slot = 0; slot < _ids.Length; slot++)
            {
                if (IsLive(_ids[slot], current) && _counts[slot] > 0)
                {
                    yield return (_ids[slot], _counts[slot]);
                }
            }
        }

        private TimeSpan Expiry(long id, long nowMs) => TimeSpan.FromMilliseconds(((id + window.Buckets) * window.BucketMilliseconds) - nowMs);

        private bool IsLive(long id, long current) => id > current - window.Buckets && id <= current;
    }
}
