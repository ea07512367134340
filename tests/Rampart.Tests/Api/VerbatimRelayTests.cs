using System.Net;
using System.Text.Json.Nodes;
using Rampart.Tests.Infrastructure;
using Rampart.Workspaces;

namespace Rampart.Tests.Api;

/// <summary>
/// An answer nothing rewrote goes to the caller as the provider's own bytes (no second serialisation), and so does a
/// part of it that restoration or output scanning looked at and left as it was; a part that was rewritten — a secret
/// redacted from it — never does.
/// </summary>
[Collection(GatewayTests.Name)]
public sealed class VerbatimRelayTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Completion_NothingRewritten_IsTheProvidersBytes()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.Python);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, marker));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Assert.Single(FakeOpenAIServer.PythonSent[marker]), body);
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        Assert.Equal(FakeOpenAIServer.PythonAnswerText, JsonNode.Parse(body)!["choices"]![0]!["message"].Text("content"));
    }

    [Fact]
    public async Task Stream_NothingRewritten_EventsAreTheProvidersBytes_AndAnEventOverSeveralLinesComesAsOne()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.Python);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.SendStreamingAsync(http, ChatApi.Request(workspace.Name, marker, stream: true));
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = FakeOpenAIServer.PythonSent[marker];
        Assert.Equal([.. sent.SkipLast(1), events[^2], "[DONE]"], events);
        Assert.Contains('\n', sent[^1]);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(sent[^1]), JsonNode.Parse(events[^2])));
        var content = string.Concat(events.SkipLast(1).Select(e => JsonNode.Parse(e)!["choices"]![0]!["delta"].Text("content")));
        Assert.Equal(FakeOpenAIServer.PythonAnswerText, content);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PromptWithPii_AnswerWithoutPlaceholders_IsStillTheProvidersBytes(bool stream)
    {
        // The prompt's e-mail address goes out as a placeholder, so every part of the answer passes through restoration;
        // where that changes nothing, what leaves is still what the provider wrote.
        var workspace = await gateway.Store.CreateWorkspaceAsync("ws-" + Guid.NewGuid().ToString("N")[..12],
            new WorkspacePolicy { Provider = "openai", Model = FakeOpenAIServer.Models.Python, Pii = "obfuscate", PiiRestore = "always" }, default);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();

        using var response = stream
            ? await ChatApi.SendStreamingAsync(http, ChatApi.Request(workspace.Name, marker + " mail ann.lee@corp.example", stream: true))
            : await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, marker + " mail ann.lee@corp.example"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = FakeOpenAIServer.PythonSent[marker + " mail [REDACTED_EMAIL_1]"];
        if (stream)
        {
            var events = ChatApi.SseData(body);
            Assert.Equal([.. sent.SkipLast(1), events[^2], "[DONE]"], events);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(sent[^1]), JsonNode.Parse(events[^2])));
        }
        else
        {
            Assert.Equal(Assert.Single(sent), body);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SecretInTheAnswer_IsRedacted_NotRelayedAsItCame(bool stream)
    {
        var workspace = await gateway.Store.CreateWorkspaceAsync("ws-" + Guid.NewGuid().ToString("N")[..12],
            new WorkspacePolicy { Provider = "openai", Model = FakeOpenAIServer.Models.Python, ScanOutput = true }, default);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        using var http = gateway.Http(key);
        var request = ChatApi.Request(workspace.Name, ChatApi.NewMarker() + " leak", stream);

        using var response = stream ? await ChatApi.SendStreamingAsync(http, request) : await ChatApi.PostAsync(http, request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"content\":", body, StringComparison.Ordinal);
        // What the redaction changed is serialised afresh (parts of a stream it left as they were may go as they came).
        var redacted = stream ? Assert.Single(ChatApi.SseData(body), e => e.Contains("[REDACTED_SECRET]", StringComparison.Ordinal)) : body;
        Assert.DoesNotContain("\"content\": ", redacted, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeOpenAIServer.LeakedToken, body, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeOpenAIServer.LeakedToken[4..20], body, StringComparison.Ordinal);
        var text = stream
            ? string.Concat(ChatApi.SseData(body).SkipLast(1).Select(e => JsonNode.Parse(e)!["choices"]!.AsArray().FirstOrDefault()?["delta"].Text("content")))
            : JsonNode.Parse(body)!["choices"]![0]!["message"].Text("content");
        Assert.StartsWith(FakeOpenAIServer.PythonAnswerText + " Sure. The deploy token is ", text, StringComparison.Ordinal);
    }
}
