using System.Collections.Concurrent;

namespace Rampart.Limits;

/// <summary>
/// Volume limits counted in this process, exactly: each workspace's counters sit behind one lock, so checking every
/// limit and reserving the request is atomic. Rates use the sliding windows of <see cref="LimitWindow"/>: the worst case
/// lets a limit's worth of requests through in any one bucket's width less than the full window. The budget is a fixed
/// window, the calendar month in UTC. With several instances, each counts only its own traffic:
/// <see cref="PostgresVolumeLimiter"/> shares the counts.
/// </summary>
internal sealed class InMemoryVolumeLimiter(TimeProvider time) : IVolumeLimiter
{
    private readonly ConcurrentDictionary<string, WorkspaceCounters> _workspaces = new(StringComparer.Ordinal);

    public ValueTask<LimitDecision> AcquireAsync(LimitRequest request, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var state = _workspaces.GetOrAdd(request.WorkspaceId, _ => new WorkspaceCounters());
        lock (state)
        {
            var checks = LimitCheck.For(request).Select(c => (Check: c, Counter: state.Counter(c))).ToList();
            var decision = LimitDecisions.Decide(request, [.. checks.Select(c => (c.Check, (IReadOnlyList<LimitBucket>)c.Counter.Live(nowMs)))],
                state.SpentIn(LimitDecisions.MonthOf(now)), now);
            if (decision.Allowed)
            {
                foreach (var (check, counter) in checks)
                {
                    counter.Add(nowMs, check.Need(request));
                }
            }

            return ValueTask.FromResult(decision);
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
                foreach (var check in LimitCheck.For(ticket.Request).Where(c => c.Tokens))
                {
                    state.Counter(check).Adjust(ticket.AtUnixMilliseconds, delta, now.ToUnixTimeMilliseconds());
                }
            }

            state.Spend(LimitDecisions.MonthOf(now), costUsd);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>One workspace's counters (per key, per user, for the workspace) and its spend per month.</summary>
    private sealed class WorkspaceCounters
    {
        private readonly Dictionary<(string Scope, string Id, bool Tokens, string Window), SlidingCounter> _counters = [];
        private readonly Dictionary<int, decimal> _spent = [];

        public SlidingCounter Counter(LimitCheck check)
        {
            var key = (check.Scope, check.Id, check.Tokens, check.Window.Name);
            if (!_counters.TryGetValue(key, out var counter))
            {
                counter = _counters[key] = new SlidingCounter(check.Window);
            }

            return counter;
        }

        public decimal SpentIn(int month) => _spent.GetValueOrDefault(month);

        public void Spend(int month, decimal amount)
        {
            if (amount > 0)
            {
                _spent[month] = _spent.GetValueOrDefault(month) + amount;
            }
        }
    }

    /// <summary>A sliding window's buckets in a ring; a bucket counts until a full window has passed since it began.</summary>
    internal sealed class SlidingCounter(LimitWindow window)
    {
        private readonly long[] _ids = new long[window.Buckets];
        private readonly long[] _counts = new long[window.Buckets];

        public long Total(long nowMs) => Live(nowMs).Sum(b => b.Count);

        public void Add(long nowMs, long amount)
        {
            var id = window.BucketAt(nowMs);
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
            var id = window.BucketAt(atMs);
            var slot = (int)(id % window.Buckets);
            if (_ids[slot] == id && window.IsLive(id, window.BucketAt(nowMs)))
            {
                _counts[slot] = Math.Max(0, _counts[slot] + delta);
            }
        }

        public TimeSpan TimeUntilFits(long nowMs, long need, long limit) => window.TimeUntilFits(Live(nowMs), nowMs, need, limit);

        /// <summary>The buckets that count at <paramref name="nowMs"/>.</summary>
        public List<LimitBucket> Live(long nowMs)
        {
            var current = window.BucketAt(nowMs);
            var live = new List<LimitBucket>();
            for (var slot = 0; slot < _ids.Length; slot++)
            {
                if (window.IsLive(_ids[slot], current))
                {
                    live.Add(new LimitBucket(_ids[slot], _counts[slot]));
                }
            }

            return live;
        }
    }
}
