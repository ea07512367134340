using System.Net;
using System.Text.Json.Nodes;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

/// <summary>
/// The search loop through the Gemini adapter, against a fake that checks function calls are answered by function
/// responses. Its function model calls the first declared function, then answers quoting the function response.
/// </summary>
public sealed class GeminiWebSearchTests(GeminiWebSearchFixture gateway) : IClassFixture<GeminiWebSearchFixture>
{
    [Fact]
    public async Task FunctionCallRound_TranslatesBothWays_AndTheModelAnswers()
    {
        var workspace = await gateway.CreateWorkspaceAsync(FakeGeminiServer.Models.Function, provider: "google");
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, marker));
        var choice = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("stop", choice.Text("finish_reason"));
        Assert.Null(choice["message"]!["tool_calls"]);
        // The fake's arguments carry no query, so the gateway's tool result says so, and the model quotes it.
        var content = choice["message"].Text("content")!;
        Assert.StartsWith("Results: web_search=", content, StringComparison.Ordinal);
        Assert.Contains("needs a JSON argument", content, StringComparison.Ordinal);
        var calls = gateway.Gemini.Requests.Where(r => r.Body.Contains(marker, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, calls.Count);
        Assert.Equal("web_search", calls[0].Json["tools"]![0]!["functionDeclarations"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("searches=0; backend=searxng", response.Headers.GetValues("x-rampart-web-search").Single());
    }
}
