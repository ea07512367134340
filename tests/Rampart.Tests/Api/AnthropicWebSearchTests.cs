using System.Net;
using System.Text.Json.Nodes;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

/// <summary>
/// The search loop through the Anthropic adapter, against a fake that checks the Messages API's tool rules (every
/// <c>tool_use</c> answered by a <c>tool_result</c> in the next turn). Its tool model always calls the first tool offered.
/// </summary>
public sealed class AnthropicWebSearchTests(AnthropicWebSearchFixture gateway) : IClassFixture<AnthropicWebSearchFixture>
{
    [Fact]
    public async Task ToolUseRounds_TranslateBothWays_AndStopAtTheRoundLimit()
    {
        var (http, model) = await CallerAsync();
        using var client = http;
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(client, ChatApi.Request(model, marker));
        var choice = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("stop", choice.Text("finish_reason"));
        Assert.Null(choice["message"]!["tool_calls"]);
        var calls = gateway.Anthropic.Requests.Where(r => r.Body.Contains(marker, StringComparison.Ordinal)).ToList();
        Assert.Equal(4, calls.Count);
        Assert.All(calls, c => Assert.Equal("web_search", c.Json["tools"]![0]!["name"]!.GetValue<string>()));
        Assert.Equal("none", calls[^1].Json["tool_choice"]!["type"]!.GetValue<string>());
        var results = calls[1].Json["messages"]!.AsArray().Last()!["content"]!.AsArray().Where(b => b!["type"]!.GetValue<string>() == "tool_result").ToList();
        Assert.Equal(2, results.Count);
        Assert.Contains("needs a JSON argument", results[0]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streamed_EachRoundsTextReachesTheCaller_ToolUsesNever()
    {
        var (http, model) = await CallerAsync();
        using var client = http;
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.SendStreamingAsync(client, ChatApi.Request(model, marker, stream: true));
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[DONE]", events[^1]);
        var choices = events.SkipLast(1).Select(e => JsonNode.Parse(e)!).SelectMany(c => c["choices"]!.AsArray()).ToList();
        Assert.Equal(string.Concat(Enumerable.Repeat(FakeAnthropicServer.ToolPreamble, 4)), string.Concat(choices.Select(c => c!["delta"].Text("content"))));
        Assert.DoesNotContain(choices, c => c!["delta"]!["tool_calls"] is not null);
        Assert.Equal("stop", Assert.Single(choices, c => c.Text("finish_reason") is not null).Text("finish_reason"));
        Assert.Equal(4, gateway.Anthropic.Requests.Count(r => r.Body.Contains(marker, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task CallersToolFirst_CallerGetsItsToolCalls()
    {
        var (http, model) = await CallerAsync();
        using var client = http;
        var marker = ChatApi.NewMarker();
        var request = ChatApi.Request(model, marker);
        request["tools"] = new JsonArray(new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = FakeAnthropicServer.DefaultToolName, ["parameters"] = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() } },
        });

        using var response = await ChatApi.PostAsync(client, request);
        var choice = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("tool_calls", choice.Text("finish_reason"));
        Assert.All(choice["message"]!["tool_calls"]!.AsArray(), c => Assert.Equal(FakeAnthropicServer.DefaultToolName, c!["function"].Text("name")));
        var upstream = gateway.Anthropic.RequestWith(marker);
        Assert.Equal([FakeAnthropicServer.DefaultToolName, "web_search"], upstream.Json["tools"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()));
    }

    private async Task<(HttpClient Http, string Model)> CallerAsync()
    {
        var workspace = await gateway.CreateWorkspaceAsync(FakeAnthropicServer.Models.Tool, provider: "anthropic");
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        return (gateway.Http(key), workspace.Name);
    }
}
