using Rampart.Routing;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Unit;

/// <summary>One target's circuit breaker on a clock the test moves: when it opens, what it lets through, how it recovers.</summary>
public sealed class CircuitBreakerTests
{
    private static readonly RouteTarget Target = new("openai", "gpt-test");

    private readonly FakeClock _clock = new(new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero));
    private readonly List<CircuitBreaker.Transition> _transitions = [];

    private CircuitBreaker Breaker(double ratio = 0.5, int minimum = 4, double samplingSeconds = 30, double breakSeconds = 10) =>
        new(Target, new CircuitBreaker.Settings(ratio, minimum, TimeSpan.FromSeconds(samplingSeconds), TimeSpan.FromSeconds(breakSeconds)),
            _clock, (target, transition) =>
            {
                Assert.Same(Target, target);
                _transitions.Add(transition);
            });

    /// <summary>One call through the breaker: true when it was let through (and then recorded with this outcome).</summary>
    private static bool Call(CircuitBreaker breaker, bool failed)
    {
        if (!breaker.TryEnter(out var probe))
        {
            return false;
        }

        breaker.Record(failed, probe);
        return true;
    }

    private static void Trip(CircuitBreaker breaker, int failures)
    {
        for (var i = 0; i < failures; i++)
        {
            Assert.True(Call(breaker, failed: true));
        }

        Assert.True(breaker.IsOpen);
    }

    /// <summary>A breaker opened by four failures (minimum 4, a 10 s break) whose break has just ended.</summary>
    private CircuitBreaker OpenedAndBreakOver()
    {
        var breaker = Breaker(minimum: 4, breakSeconds: 10);
        Trip(breaker, 4);
        _clock.Advance(TimeSpan.FromSeconds(10));
        return breaker;
    }

    [Fact]
    public void BelowTheMinimumThroughput_EvenOnlyFailuresKeepItClosed()
    {
        var breaker = Breaker(minimum: 4);

        for (var i = 0; i < 3; i++)
        {
            Assert.True(Call(breaker, failed: true));
        }

        Assert.False(breaker.IsOpen);
        Assert.Empty(_transitions);
    }

    [Fact]
    public void AtTheRatio_WithEnoughCalls_ItOpensAndRefusesCalls()
    {
        var breaker = Breaker(ratio: 0.5, minimum: 4);

        Assert.True(Call(breaker, failed: false));
        Assert.True(Call(breaker, failed: false));
        Assert.True(Call(breaker, failed: true));
        Assert.False(breaker.IsOpen); // 1 of 3, and below the minimum
        Assert.True(Call(breaker, failed: true)); // 2 of 4 = the ratio

        Assert.True(breaker.IsOpen);
        Assert.Equal(new CircuitBreaker.Transition(CircuitBreaker.State.Closed, CircuitBreaker.State.Open, 2, 4), Assert.Single(_transitions));
        Assert.False(breaker.TryEnter(out _));
        _clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(breaker.TryEnter(out _));
    }

    [Fact]
    public void SuccessesKeepTheShareOfFailuresBelowTheRatio()
    {
        var breaker = Breaker(ratio: 0.5, minimum: 4);

        for (var i = 0; i < 50; i++)
        {
            Assert.True(Call(breaker, failed: i % 3 == 2)); // every third call fails
        }

        Assert.False(breaker.IsOpen);
    }

    [Fact]
    public void FailuresOlderThanTheSamplingWindow_NoLongerCount()
    {
        var breaker = Breaker(ratio: 0.5, minimum: 4, samplingSeconds: 30);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(Call(breaker, failed: true));
        }

        _clock.Advance(TimeSpan.FromSeconds(35));
        Assert.True(Call(breaker, failed: true)); // 4 failures in all, but only 1 within the last 30 s

        Assert.False(breaker.IsOpen);

        _clock.Advance(TimeSpan.FromSeconds(12)); // the failure from 12 s ago is still in the window
        for (var i = 0; i < 3; i++)
        {
            Assert.True(Call(breaker, failed: true));
        }

        Assert.True(breaker.IsOpen);
        Assert.Equal(4, Assert.Single(_transitions).Calls);
    }

    [Fact]
    public void AfterTheBreak_OneProbeGoesThrough_AndItsSuccessClosesTheBreakerWithAFreshWindow()
    {
        var breaker = OpenedAndBreakOver();

        Assert.True(breaker.TryEnter(out var probe));
        Assert.True(probe);
        Assert.False(breaker.TryEnter(out _)); // probing: everyone else still skips the target
        breaker.Record(failed: false, probe);

        Assert.False(breaker.IsOpen);
        Assert.Equal(CircuitBreaker.State.Closed, _transitions[^1].To);
        // The window starts afresh: the four failures before the break do not add up with a new one.
        Assert.True(Call(breaker, failed: true));
        Assert.False(breaker.IsOpen);
        Assert.True(breaker.TryEnter(out var after));
        Assert.False(after);
    }

    [Fact]
    public void AFailedProbe_OpensItForAnotherBreak()
    {
        var breaker = OpenedAndBreakOver();

        Assert.True(Call(breaker, failed: true));

        Assert.True(breaker.IsOpen);
        Assert.Equal(new CircuitBreaker.Transition(CircuitBreaker.State.HalfOpen, CircuitBreaker.State.Open, 1, 1), _transitions[^1]);
        _clock.Advance(TimeSpan.FromSeconds(9));
        Assert.False(breaker.TryEnter(out _));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(breaker.TryEnter(out var probe));
        Assert.True(probe);
    }

    [Fact]
    public void AnAbandonedProbe_PassesTheProbeToTheNextCall()
    {
        var breaker = OpenedAndBreakOver();
        Assert.True(breaker.TryEnter(out var first));
        Assert.False(breaker.TryEnter(out _));

        breaker.Abandon(first);

        Assert.True(breaker.IsOpen);
        Assert.True(breaker.TryEnter(out var second));
        Assert.True(second);
        Assert.False(breaker.TryEnter(out _));
    }

    [Fact]
    public void ACallThatStartedBeforeTheBreakerOpened_ChangesNothingWhenItEnds()
    {
        var breaker = Breaker(minimum: 4, breakSeconds: 10);
        Assert.True(breaker.TryEnter(out var slow));
        Trip(breaker, 4);

        breaker.Record(failed: false, slow);

        Assert.True(breaker.IsOpen);
        Assert.Single(_transitions);
    }

    [Fact]
    public async Task ManyCallersAfterTheBreak_ExactlyOneIsTheProbe()
    {
        var breaker = OpenedAndBreakOver();
        using var start = new Barrier(8);

        var entered = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait();
            var counted = 0;
            for (var i = 0; i < 1_000; i++)
            {
                if (breaker.TryEnter(out var probe))
                {
                    Assert.True(probe);
                    counted++;
                }
            }

            return counted;
        })));

        Assert.Equal(1, entered.Sum());
    }
}
