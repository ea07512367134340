using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Hosting;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Unit;

/// <summary>
/// The start-up allowance of thread-pool threads, on the test process's own thread pool (the gateways the other tests
/// start here have it turned off, so these tests are the only ones to move it).
/// </summary>
public sealed class StartupThreadsTests
{
    private static StartupThreads Allowance(int minimum, int seconds) => new(
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Rampart:StartupThreads:Minimum"] = minimum.ToString(),
            ["Rampart:StartupThreads:Seconds"] = seconds.ToString(),
        }).Build(),
        NullLogger<StartupThreads>.Instance);

    private static (int Workers, int Io) Minimum()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        return (workers, io);
    }

    [Fact]
    public async Task RaisesTheMinimum_ThenPutsItBackWhenTheAllowanceEnds()
    {
        var before = Minimum();
        using var allowance = Allowance(before.Workers + 5, seconds: 1);

        await allowance.StartAsync(CancellationToken.None);
        Assert.Equal((before.Workers + 5, before.Io), Minimum());

        await Eventually.WaitUntilAsync(() => Minimum() == before, "the minimum was not put back after the allowance");
    }

    [Fact]
    public async Task SideBySide_TheMinimumGoesBackWhenTheLastAllowanceEnds()
    {
        var before = Minimum();
        using var first = Allowance(before.Workers + 3, seconds: 600);
        using var second = Allowance(before.Workers + 6, seconds: 600);

        await first.StartAsync(CancellationToken.None);
        await second.StartAsync(CancellationToken.None);
        Assert.Equal(before.Workers + 6, Minimum().Workers);

        await second.StopAsync(CancellationToken.None);
        Assert.NotEqual(before, Minimum());

        await first.StopAsync(CancellationToken.None);
        Assert.Equal(before, Minimum());

        first.Dispose();
        Assert.Equal(before, Minimum());
    }

    [Theory]
    [InlineData(0, 0)] // turned off
    [InlineData(-1, 30)] // asks for no more than there is
    public async Task LeavesTheMinimumAlone_WhenOffOrNotAbove(int extra, int seconds)
    {
        var before = Minimum();
        using var allowance = Allowance(before.Workers + extra, seconds);

        await allowance.StartAsync(CancellationToken.None);
        Assert.Equal(before, Minimum());
        await allowance.StopAsync(CancellationToken.None);
        Assert.Equal(before, Minimum());
    }

    [Theory]
    [InlineData(0, 30)]
    [InlineData(2000, 30)]
    [InlineData(8, -1)]
    [InlineData(8, 4000)]
    public async Task BadSettings_StopTheStart_WithTheirNames(int minimum, int seconds)
    {
        var before = Minimum();
        using var allowance = Allowance(minimum, seconds);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => allowance.StartAsync(CancellationToken.None));
        Assert.Contains("Rampart:StartupThreads:Minimum", error.Message);
        Assert.Equal(before, Minimum());
    }
}
