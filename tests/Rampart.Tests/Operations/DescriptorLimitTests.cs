using System.Net;
using Rampart.Hosting;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Operations;

/// <summary>
/// A provider that stops answering while callers keep coming: every waiting request holds its caller's socket and one
/// to the provider. Without a cap the process runs out of descriptors (measured at 1,000 req/s against a provider
/// taking 14 s: the runtime aborted it with "Out of memory." once 20,000 were open); with the default cap the
/// connections beyond it are closed and the gateway stays up.
/// </summary>
[Trait("Gateway", "Process")]
public sealed class DescriptorLimitTests
{
    private const int OpenFilesLimit = 1300;
    private const int Callers = 600;

    [Fact]
    public async Task CallsPilingUpOnAStalledProvider_NeverExhaustTheDescriptors_AndTheGatewayKeepsServing()
    {
        Assert.True(OperatingSystem.IsLinux(), "this test reads /proc and sets the limit with the shell's ulimit");
        await using var upstream = await FakeOpenAIServer.StartAsync();
        var dataDir = Path.Combine(Path.GetTempPath(), "rampart-descriptors-" + Guid.NewGuid().ToString("N"));
        var masterKey = "test-master-" + Guid.NewGuid().ToString("N");
        var cap = (int)ServerLimits.DefaultMaxConnections(OpenFilesLimit)!;
        try
        {
            await using var gateway = await GatewayProcess.StartAsync(new Dictionary<string, string>
            {
                ["RAMPART_DATA_DIR"] = dataDir,
                ["RAMPART_MASTER_KEY"] = masterKey,
                ["OPENAI_API_KEY"] = "sk-test-upstream-" + Guid.NewGuid().ToString("N"),
                ["OPENAI_BASE_URL"] = upstream.BaseUrl,
            }, OpenFilesLimit);
            using (var warm = gateway.Http(masterKey))
            {
                using var first = await ChatApi.PostAsync(warm, ChatApi.Request("openai/" + FakeOpenAIServer.Models.Echo, ChatApi.NewMarker()));
                Assert.True(first.StatusCode == HttpStatusCode.OK, await first.Content.ReadAsStringAsync());
            }

            var idle = OpenDescriptors(gateway.Id);
            using var callers = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue })
            {
                BaseAddress = new Uri(gateway.BaseUrl + "/"),
                DefaultRequestHeaders = { Authorization = new("Bearer", masterKey) },
                Timeout = Timeout.InfiniteTimeSpan,
            };
            using var leave = new CancellationTokenSource();

            var calls = Enumerable.Range(0, Callers)
                .Select(_ => OutcomeAsync(ChatApi.PostAsync(callers, ChatApi.Request("openai/" + FakeOpenAIServer.Models.Hang, ChatApi.NewMarker()), leave.Token)))
                .ToList();
            var most = 0;
            var deadline = DateTime.UtcNow.AddSeconds(20);
            int Waiting() => upstream.Requests.Count(r => (string?)r.Json["model"] == FakeOpenAIServer.Models.Hang);
            // The connections of the start-up probe and the first request may take a moment to close on the gateway's side,
            // so up to two places may still be theirs.
            while (Waiting() < cap - 2 && DateTime.UtcNow < deadline)
            {
                most = Math.Max(most, OpenDescriptors(gateway.Id));
                await Task.Delay(20);
            }

            for (var i = 0; i < 50; i++)
            {
                most = Math.Max(most, OpenDescriptors(gateway.Id));
                await Task.Delay(20);
            }

            // Connections beyond the cap are accepted and closed at once, so the count peaks a little above where it
            // settles, never at the limit. Settled: each admitted caller's socket and its call to the provider.
            var settled = OpenDescriptors(gateway.Id);
            var admitted = Waiting();
            Assert.InRange(admitted, cap - 2, cap);
            Assert.True(most < OpenFilesLimit - 64, $"{most} descriptors open at the peak, of {OpenFilesLimit} ({idle} idle)");
            Assert.InRange(settled, idle + 2 * admitted - 16, idle + 2 * admitted + 32);
            Assert.False(gateway.HasExited, "the gateway died:\n" + string.Join('\n', gateway.Output.TakeLast(20)));

            // At the cap every new connection is closed, health probes' too; once callers leave, all is served again.
            await leave.CancelAsync();
            var outcomes = await Task.WhenAll(calls);
            Assert.Equal(Callers - admitted, outcomes.Count(o => o == "refused"));

            // The gateway closes the callers' connections and its provider calls; until it has, a new connection could
            // still meet the cap.
            await Eventually.WaitUntilAsync(() => OpenDescriptors(gateway.Id) <= idle + 8, "the callers' connections were never closed");
            using var probe = gateway.Http();
            Assert.Equal(HttpStatusCode.OK, (await probe.GetAsync("healthz")).StatusCode);

            // Counted, not logged one line per connection (a burst would write thousands).
            var samples = PrometheusExposition.Parse(await probe.GetStringAsync("metrics"));
            Assert.Equal(Callers - admitted, samples.Where(s => s.Key.StartsWith("kestrel_rejected_connections", StringComparison.Ordinal)).Sum(s => s.Value));
            Assert.DoesNotContain(gateway.Output, line => line.Contains("maximum number of concurrent connections", StringComparison.Ordinal));
            using var http = gateway.Http(masterKey);
            using var served = await ChatApi.PostAsync(http, ChatApi.Request("openai/" + FakeOpenAIServer.Models.Echo, ChatApi.NewMarker()));
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static int OpenDescriptors(int processId) => Directory.GetFiles($"/proc/{processId}/fd").Length;

    /// <summary>"refused" when the gateway closed the connection unanswered, "left" when the caller gave up waiting.</summary>
    private static async Task<string> OutcomeAsync(Task<HttpResponseMessage> call)
    {
        try
        {
            using var response = await call;
            return ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (OperationCanceledException)
        {
            return "left";
        }
        catch (HttpRequestException)
        {
            return "refused";
        }
    }
}
