using System.Net;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

public sealed class FirstStartTests : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "rampart-restart-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Restart_OnTheSameDatabase_PrintsNothing_AndTheFirstKeyStillWorks()
    {
        string firstKey;
        await using (var first = new Gateway(_dataDir))
        {
            await first.InitializeAsync();
            var banner = first.FirstStartOutput.ToString();
            firstKey = banner.Split((char[])[' ', '\n', '"'], StringSplitOptions.RemoveEmptyEntries).First(w => w.StartsWith("rmp_", StringComparison.Ordinal));
        }

        await using var second = new Gateway(_dataDir);
        await second.InitializeAsync();
        using var http = second.Http(firstKey);

        var response = await http.GetAsync("api/v1/models/default");

        Assert.Equal("", second.FirstStartOutput.ToString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var users = await second.Store.ListUsersAsync(default);
        Assert.Single(users);
    }

    [Fact]
    public async Task ConfiguredAdminPassword_IsNotPrinted()
    {
        await using var gateway = new Gateway(_dataDir, adminPassword: "correct horse battery staple (test)");
        await gateway.InitializeAsync();

        var banner = gateway.FirstStartOutput.ToString();

        Assert.Contains("RAMPART_ADMIN_PASSWORD", banner);
        Assert.DoesNotContain("correct horse", banner);
    }

    public void Dispose()
    {
        TestDatabase.DropAsync(_dataDir).GetAwaiter().GetResult();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder.
        }
    }

    private sealed class Gateway(string dataDir, string? adminPassword = null) : GatewayFixture(dataDir, deleteDataOnDispose: false), IAsyncDisposable
    {
        protected override void Configure(Dictionary<string, string?> settings) => settings["RAMPART_ADMIN_PASSWORD"] = adminPassword;

        async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();
    }
}
