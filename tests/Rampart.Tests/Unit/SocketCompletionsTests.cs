using Rampart.Hosting;

namespace Rampart.Tests.Unit;

public sealed class SocketCompletionsTests
{
    [Theory]
    [InlineData(SocketCompletions.LargeBodyBytes)]
    [InlineData(50L * 1024 * 1024)]
    [InlineData(null)]
    public async Task OnAnEventThread_ALargeBodyOrOneOfUnknownSize_IsHandledOnTheThreadPool(long? bodyBytes)
    {
        var (startedOnPool, sameThread, endedOnPool) = await FromOwnThreadAsync(bodyBytes);
        Assert.False(startedOnPool);
        Assert.False(sameThread);
        Assert.True(endedOnPool);
    }

    [Fact]
    public async Task OnAnEventThread_TheHopHappensEvenWhenTheCallerAwaitsLate()
    {
        // A caller that reaches its await only after the pool could have run a queued hop: the hop must still happen,
        // not complete early and let the rest run inline on the event thread.
        var (_, sameThread, endedOnPool) = await FromOwnThreadAsync(null, awaitAfter: TimeSpan.FromMilliseconds(200));
        Assert.False(sameThread);
        Assert.True(endedOnPool);
    }

    [Fact]
    public async Task OnAnEventThread_ASmallBody_StaysWhereItIs()
    {
        var (startedOnPool, sameThread, _) = await FromOwnThreadAsync(SocketCompletions.LargeBodyBytes - 1);
        Assert.False(startedOnPool);
        Assert.True(sameThread);
    }

    [Fact]
    public async Task OnTheThreadPool_EvenALargeBody_ContinuesAtOnce()
    {
        var completedAtOnce = await Task.Run(() => SocketCompletions.LeaveEventThreadAsync(null).IsCompleted);
        Assert.True(completedAtOnce);
    }

    /// <summary>Calls the hop from a thread of its own, as a socket event thread is: not one of the pool's.</summary>
    private static Task<(bool StartedOnPool, bool SameThread, bool EndedOnPool)> FromOwnThreadAsync(long? bodyBytes, TimeSpan awaitAfter = default)
    {
        var result = new TaskCompletionSource<(bool, bool, bool)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() => _ = HopAsync()) { IsBackground = true };
        thread.Start();
        return result.Task.WaitAsync(TimeSpan.FromSeconds(10));

        async Task HopAsync()
        {
            try
            {
                // The Thread object, not its managed id (reused once the thread ends); and nothing read from it after
                // the hop, as a thread that has ended refuses to tell its state.
                var started = Thread.CurrentThread;
                var startedOnPool = started.IsThreadPoolThread;
                var hop = SocketCompletions.LeaveEventThreadAsync(bodyBytes);
                Thread.Sleep(awaitAfter);
                await hop;
                result.SetResult((startedOnPool, Thread.CurrentThread == started, Thread.CurrentThread.IsThreadPoolThread));
            }
            catch (Exception e)
            {
                result.TrySetException(e);
            }
        }
    }
}
