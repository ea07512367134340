using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Rampart.Hosting;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Operations;

/// <summary>
/// By default the gateway keeps .NET's socket engine as it is: one event thread handing every completion to the thread
/// pool. With <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c> completions run on the event threads, one per CPU.
/// The thread count is what tells the two apart from outside; answers large enough to be moved off an event thread,
/// and streams of thousands of events, must come through whole either way.
/// </summary>
[Trait("Gateway", "Process")]
public sealed class SocketEngineTests
{
    private const int Processors = 3;

    [Theory]
    [InlineData(null, 1)]
    [InlineData("1", Processors)]
    public async Task SocketCompletions_AreHandedToThePool_UnlessTheOperatorRunsThemOnOneEventThreadPerCpu(string? setting, int eventThreads)
    {
        Assert.True(OperatingSystem.IsLinux(), "this test reads the gateway's threads from /proc");
        await using var upstream = await FakeOpenAIServer.StartAsync();
        var dataDir = Path.Combine(Path.GetTempPath(), "rampart-sockets-" + Guid.NewGuid().ToString("N"));
        var masterKey = "test-master-" + Guid.NewGuid().ToString("N");
        var environment = new Dictionary<string, string>
        {
            ["RAMPART_DATA_DIR"] = dataDir,
            ["RAMPART_MASTER_KEY"] = masterKey,
            ["OPENAI_API_KEY"] = "sk-test-upstream-" + Guid.NewGuid().ToString("N"),
            ["OPENAI_BASE_URL"] = upstream.BaseUrl,
            ["DOTNET_PROCESSOR_COUNT"] = Processors.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (setting is not null)
        {
            environment[SocketCompletions.Variable] = setting;
        }

        try
        {
            await using var gateway = await GatewayProcess.StartAsync(environment);
            using var http = gateway.Http(masterKey);

            // Echoed back, so the answer is as large as the prompt: well above the size that leaves the event thread.
            var large = Prompt(2 * SocketCompletions.LargeBodyBytes);
            using var answered = await ChatApi.PostAsync(http, ChatApi.Request("openai/" + FakeOpenAIServer.Models.EchoUser, large));
            var body = await answered.Content.ReadAsStringAsync();
            Assert.True(answered.StatusCode == HttpStatusCode.OK, body);
            Assert.Equal(large, JsonNode.Parse(body)!["choices"]![0]!["message"].Text("content"));

            // Streamed back in events of one to three characters: thousands of socket completions relayed in order.
            var small = Prompt(8 * 1024);
            using var streamed = await ChatApi.PostAsync(http, ChatApi.Request("openai/" + FakeOpenAIServer.Models.EchoUser, small, stream: true));
            var events = ChatApi.SseData(await streamed.Content.ReadAsStringAsync());
            Assert.Equal("[DONE]", events[^1]);
            var text = string.Concat(events.SkipLast(1).Select(e => JsonNode.Parse(e)!["choices"]!.AsArray().FirstOrDefault()?["delta"].Text("content")));
            Assert.Equal(small, text);

            var names = Directory.GetDirectories($"/proc/{gateway.Id}/task").Select(task => File.ReadAllText(Path.Combine(task, "comm")).Trim());
            Assert.Equal(eventThreads, names.Count(name => name == ".NET Sockets"));
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static string Prompt(long length)
    {
        var marker = ChatApi.NewMarker();
        var prompt = new StringBuilder(marker);
        while (prompt.Length < length)
        {
            prompt.Append(" the quick brown fox jumps over the lazy dog");
        }

        return prompt.Append(' ').Append(marker).ToString();
    }
}
