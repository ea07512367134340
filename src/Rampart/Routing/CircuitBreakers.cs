using System.Collections.Concurrent;
using Rampart.Providers;

namespace Rampart.Routing;

/// <summary>
/// One circuit breaker per target (<c>provider/model</c>), shared by every workspace: when a target keeps failing,
/// requests skip it (to their fallbacks) until the break is over, then one request probes it again. Only the
/// provider's own failures count (5xx, timeouts, broken connections), never a caller's bad request.
/// </summary>
/// <remarks>
/// Hand-written rather than a Polly pipeline: a call passes one read of the breaker's state before it and one short
/// locked update after it, with no wrapper delegates, state machines or pooled contexts in between. Polly's circuit
/// breaker cost ≈ 1.5 KB of allocation per request on the load benchmark (docs/benchmarks.md); the semantics kept are
/// its own: failure ratio over a rolling sampling window with a minimum throughput, a fixed break, one probe.
/// </remarks>
internal sealed partial class CircuitBreakers(IConfiguration configuration, TimeProvider time, ILogger<CircuitBreakers> logger)
{
    private readonly ConcurrentDictionary<RouteTarget, CircuitBreaker> _breakers = new();
    private readonly TimeProvider _time = time;

    private readonly CircuitBreaker.Settings _settings = new(
        FailureRatio: configuration.GetValue("Rampart:CircuitBreaker:FailureRatio", 0.5),
        MinimumThroughput: Math.Max(1, configuration.GetValue("Rampart:CircuitBreaker:MinimumThroughput", 4)),
        SamplingDuration: TimeSpan.FromSeconds(Math.Max(0.01, configuration.GetValue("Rampart:CircuitBreaker:SamplingSeconds", 30.0))),
        BreakDuration: TimeSpan.FromSeconds(Math.Max(0, configuration.GetValue("Rampart:CircuitBreaker:BreakSeconds", 30.0))));

    public CircuitBreaker For(RouteTarget target) =>
        _breakers.GetOrAdd(target, static (t, owner) => new CircuitBreaker(t, owner._settings, owner._time, owner.Transitioned), this);

    /// <summary>Every target called so far, with whether its breaker is open (or probing) now: for <c>/metrics</c>.</summary>
    public IEnumerable<(RouteTarget Target, bool Open)> States()
    {
        foreach (var (target, breaker) in _breakers)
        {
            yield return (target, breaker.IsOpen);
        }
    }

    /// <summary>The error a request gets instead of a call while its target's breaker is open.</summary>
    public static UpstreamError Refusal(RouteTarget target) => new(UpstreamErrorKind.Failed, target.Provider,
        $"Provider target '{target}' is failing repeatedly and is paused for a while (circuit open).");

    private void Transitioned(RouteTarget target, CircuitBreaker.Transition transition)
    {
        switch (transition.To)
        {
            case CircuitBreaker.State.Open when transition.From == CircuitBreaker.State.HalfOpen:
                LogProbeFailed(logger, target, (int)_settings.BreakDuration.TotalSeconds);
                break;
            case CircuitBreaker.State.Open:
                LogOpened(logger, target, transition.Failures, transition.Calls, (int)_settings.SamplingDuration.TotalSeconds, (int)_settings.BreakDuration.TotalSeconds);
                break;
            case CircuitBreaker.State.Closed:
                LogClosed(logger, target);
                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Circuit opened for {Target}: {Failures} of its last {Calls} calls failed within {SamplingSeconds} s; it is skipped for {BreakSeconds} s")]
    private static partial void LogOpened(ILogger logger, RouteTarget target, int failures, int calls, int samplingSeconds, int breakSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Circuit for {Target} stays open: the probe after the break failed; skipped for another {BreakSeconds} s")]
    private static partial void LogProbeFailed(ILogger logger, RouteTarget target, int breakSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Circuit closed for {Target}: the probe after the break succeeded")]
    private static partial void LogClosed(ILogger logger, RouteTarget target);
}

/// <summary>
/// The breaker of one target. Closed: calls go through and their outcomes are counted in a rolling window (ten
/// buckets over the sampling duration); once at least the minimum number of calls were made in the window and the
/// failed share reaches the ratio, it opens. Open: calls are refused until the break is over. Then the next call is
/// the probe (half-open) and every other call is refused meanwhile; the probe's success closes the breaker with a
/// fresh window, its failure opens it for another break. A probe that ends without an outcome (cancelled by its
/// caller) hands the probe to the next call.
/// </summary>
internal sealed class CircuitBreaker
{
    internal enum State { Closed, Open, HalfOpen }

    internal readonly record struct Settings(double FailureRatio, int MinimumThroughput, TimeSpan SamplingDuration, TimeSpan BreakDuration);

    internal readonly record struct Transition(State From, State To, int Failures, int Calls);

    private const int Buckets = 10;

    private readonly RouteTarget _target;
    private readonly Settings _settings;
    private readonly TimeProvider _time;
    private readonly Action<RouteTarget, Transition> _transitioned;
    private readonly long _bucketTicks;
    private readonly Lock _lock = new();
    private readonly long[] _bucketIndex = new long[Buckets];
    private readonly int[] _calls = new int[Buckets];
    private readonly int[] _failures = new int[Buckets];
    private volatile State _state = State.Closed;
    private long _openUntilTicks;
    private bool _probing;

    public CircuitBreaker(RouteTarget target, Settings settings, TimeProvider time, Action<RouteTarget, Transition> transitioned)
    {
        _target = target;
        _settings = settings;
        _time = time;
        _transitioned = transitioned;
        _bucketTicks = Math.Max(1, settings.SamplingDuration.Ticks / Buckets);
        Array.Fill(_bucketIndex, -1);
    }

    public bool IsOpen => _state != State.Closed;

    /// <summary>
    /// Whether a call may go to the target now. <paramref name="probe"/> is true for the one call allowed after a
    /// break; every call let through must be ended with <see cref="Record"/> or, without an outcome, <see cref="Abandon"/>.
    /// </summary>
    public bool TryEnter(out bool probe)
    {
        probe = false;
        if (_state == State.Closed)
        {
            return true;
        }

        lock (_lock)
        {
            switch (_state)
            {
                case State.Closed:
                    return true;
                case State.Open when _time.GetUtcNow().UtcTicks >= _openUntilTicks:
                case State.HalfOpen when !_probing:
                    _state = State.HalfOpen;
                    _probing = probe = true;
                    return true;
                default:
                    return false;
            }
        }
    }

    /// <summary>The outcome of a call let through by <see cref="TryEnter"/>.</summary>
    public void Record(bool failed, bool probe)
    {
        Transition? transition = null;
        lock (_lock)
        {
            var now = _time.GetUtcNow().UtcTicks;
            if (probe)
            {
                _probing = false;
                if (_state == State.HalfOpen)
                {
                    transition = failed ? Open(now, State.HalfOpen, 1, 1) : Close();
                }
            }
            else if (_state == State.Closed)
            {
                transition = Count(now, failed);
            }

            // A call that started before the breaker opened and ends while it is open changes nothing.
        }

        if (transition is { } happened)
        {
            _transitioned(_target, happened);
        }
    }

    /// <summary>A call let through ended without an outcome (its caller went away): a probe passes to the next call.</summary>
    public void Abandon(bool probe)
    {
        if (!probe)
        {
            return;
        }

        lock (_lock)
        {
            _probing = false;
        }
    }

    private Transition? Count(long now, bool failed)
    {
        var index = now / _bucketTicks;
        var slot = (int)(index % Buckets);
        if (_bucketIndex[slot] != index)
        {
            _bucketIndex[slot] = index;
            _calls[slot] = 0;
            _failures[slot] = 0;
        }

        _calls[slot]++;
        if (!failed)
        {
            return null;
        }

        _failures[slot]++;
        int calls = 0, failures = 0;
        for (var i = 0; i < Buckets; i++)
        {
            if (_bucketIndex[i] > index - Buckets)
            {
                calls += _calls[i];
                failures += _failures[i];
            }
        }

        return calls >= _settings.MinimumThroughput && failures >= _settings.FailureRatio * calls
            ? Open(now, State.Closed, failures, calls)
            : null;
    }

    private Transition Open(long now, State from, int failures, int calls)
    {
        _state = State.Open;
        _openUntilTicks = now + _settings.BreakDuration.Ticks;
        return new Transition(from, State.Open, failures, calls);
    }

    private Transition Close()
    {
        Array.Fill(_bucketIndex, -1);
        _state = State.Closed;
        return new Transition(State.HalfOpen, State.Closed, 0, 0);
    }
}
