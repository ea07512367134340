using System.Net;
using System.Text.Json.Nodes;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

/// <summary>DeepSeek's <c>reasoning_content</c> passes through the OpenAI-compatible adapter, whole and streamed.</summary>
[Collection(GatewayTests.Name)]
public sealed class ReasoningTests(GatewayFixture gateway)
{
    [Fact]
    public async Task NonStreamed_ReasoningContentAndReasoningTokens_PassThrough()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.Reasoner);
        using var http = gateway.Http(key);

        var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, "hi"));
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var message = json["choices"]![0]!["message"]!;
        Assert.Equal(FakeOpenAIServer.ReasoningText, message["reasoning_content"]!.GetValue<string>());
        Assert.Equal(FakeOpenAIServer.CompletionText, message["content"]!.GetValue<string>());
        Assert.Equal(12, json["usage"]!["completion_tokens_details"]!["reasoning_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task Streamed_ReasoningDeltasArriveBeforeTheAnswer()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.Reasoner);
        using var http = gateway.Http(key);

        using var response = await ChatApi.SendStreamingAsync(http, ChatApi.Request(workspace.Name, "hi", stream: true));
        var deltas = ChatApi.SseData(await response.Content.ReadAsStringAsync())
            .Where(e => e != "[DONE]")
            .Select(e => JsonNode.Parse(e)!["choices"]![0]!["delta"]!)
            .ToList();

        var reasoning = string.Concat(deltas.Select(d => d["reasoning_content"]?.GetValue<string>()));
        var content = string.Concat(deltas.Select(d => d["content"]?.GetValue<string>()));
        Assert.Equal(FakeOpenAIServer.ReasoningText + " ", reasoning);
        Assert.Equal(FakeOpenAIServer.CompletionText, content);
        var firstAnswer = deltas.FindIndex(d => d["content"] is not null);
        var lastReasoning = deltas.FindLastIndex(d => !string.IsNullOrEmpty(d["reasoning_content"]?.GetValue<string>()));
        Assert.True(lastReasoning < firstAnswer);
    }
}
