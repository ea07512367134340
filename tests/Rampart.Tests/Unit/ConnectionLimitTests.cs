using Rampart.Hosting;

namespace Rampart.Tests.Unit;

/// <summary>The default connection cap, derived from the open-files limit so that descriptors never run out.</summary>
public sealed class ConnectionLimitTests
{
    private const string Limits = """
        Limit                     Soft Limit           Hard Limit           Units
        Max cpu time              unlimited            unlimited            seconds
        Max open files            20000                524288               files
        Max locked memory         8388608              8388608              bytes
        """;

    [Fact]
    public void TheSoftLimit_IsRead_NotTheHardOne() => Assert.Equal(20000, ServerLimits.ParseOpenFilesLimit(Limits));

    [Theory]
    [InlineData("Max open files            unlimited            unlimited            files")]
    [InlineData("Max processes             4096                 4096                 processes")]
    [InlineData("")]
    public void AnUnlimitedOrMissingLimit_IsUnknown(string limits) => Assert.Null(ServerLimits.ParseOpenFilesLimit(limits));

    [Theory]
    // Half of what is left once the gateway's own files are set aside: a caller's socket and its provider's.
    [InlineData(20000L, 9488L)]
    [InlineData(1048576L, 523776L)]
    // A tiny limit still leaves a usable gateway.
    [InlineData(1024L, 64L)]
    [InlineData(null, null)]
    public void TheDefault_LeavesADescriptorForEachProviderCall(long? openFiles, long? expected) =>
        Assert.Equal(expected, ServerLimits.DefaultMaxConnections(openFiles));

    [Fact]
    public void ThisProcess_HasALimitOnLinux_AndNoneIsGuessedElsewhere()
    {
        var limit = ServerLimits.OpenFilesLimit();

        if (OperatingSystem.IsLinux())
        {
            Assert.InRange(limit ?? 0, 1, long.MaxValue);
        }
        else
        {
            Assert.Null(limit);
        }
    }
}
