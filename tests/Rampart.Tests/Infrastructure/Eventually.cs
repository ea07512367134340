namespace Rampart.Tests.Infrastructure;

/// <summary>Polls a condition every 20 ms until it holds; fails the test with <c>failure</c> when it has not within the timeout (10 s).</summary>
internal static class Eventually
{
    public static Task WaitUntilAsync(Func<bool> condition, string failure = "timed out", TimeSpan? timeout = null) =>
        WaitUntilAsync(() => Task.FromResult(condition()), failure, timeout);

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string failure = "timed out", TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(20);
        }
    }
}
