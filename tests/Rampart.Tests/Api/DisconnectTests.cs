using System.Net;
using System.Text.Json.Nodes;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

/// <summary>
/// A caller that leaves ends the provider call with it. Runs alone (<see cref="RunsAlone"/>): one check is that the call
/// ends within a second of the client leaving, well before the gateway's own 2-second upstream timeout would end it.
/// </summary>
[Collection(RunsAlone.Name)]
public sealed class DisconnectTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    private static readonly TimeSpan AbortWait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task ClientLeavesMidStream_GatewayAbortsUpstream_AndKeepsServing()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.SlowStream);
        var marker = ChatApi.NewMarker();

        using (var http = gateway.Http(key))
        {
            using var response = await ChatApi.SendStreamingAsync(http, ChatApi.Request(workspace.Name, marker, stream: true));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var events = 0;
            while (events < 3 && await reader.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("data: {", StringComparison.Ordinal))
                {
                    events++;
                }
            }

            Assert.Equal(3, events);
        }

        await gateway.Upstream.AbortedAsync(marker).WaitAsync(AbortWait);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task ClientCancelsWaitingForCompletion_GatewayAbortsUpstream_AndKeepsServing()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.Hang);
        var marker = ChatApi.NewMarker();
        using var http = gateway.Http(key);
        using var cancel = new CancellationTokenSource();

        var call = ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, marker), cancel.Token);
        await gateway.Upstream.CalledAsync(FakeOpenAIServer.Models.Hang, marker);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        // Well before the gateway's own 2-second upstream timeout could have done it.
        await gateway.Upstream.AbortedAsync(marker).WaitAsync(TimeSpan.FromSeconds(1));
        await AssertStillServesAsync();
    }

    private async Task AssertStillServesAsync()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);

        using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(FakeOpenAIServer.CompletionText, answer["choices"]![0]!["message"].Text("content"));
    }
}
