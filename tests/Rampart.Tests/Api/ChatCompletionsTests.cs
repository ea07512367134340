using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

[Collection(GatewayTests.Name)]
public sealed class ChatCompletionsTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Sdk_Completion_ReturnsUpstreamAnswerAndUsage()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var chat = gateway.Sdk(key).GetChatClient(workspace.Name);

        var completion = (await chat.CompleteChatAsync(new UserChatMessage(ChatApi.NewMarker()))).Value;

        Assert.Equal(FakeOpenAIServer.CompletionText, Assert.Single(completion.Content).Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(11, completion.Usage.InputTokenCount);
        Assert.Equal(7, completion.Usage.OutputTokenCount);
        Assert.Equal(18, completion.Usage.TotalTokenCount);
        Assert.Equal(3, completion.Usage.InputTokenDetails.CachedTokenCount);
    }

    [Fact]
    public async Task Sdk_Streaming_ReassemblesTextExactlyAndDeliversUsage()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var chat = gateway.Sdk(key).GetChatClient(workspace.Name);
        var marker = ChatApi.NewMarker();

        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finishReason = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(new UserChatMessage(marker)))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage ??= update.Usage;
            finishReason ??= update.FinishReason;
        }

        Assert.Equal(string.Concat(FakeOpenAIServer.StreamPieces), text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finishReason);
        Assert.NotNull(usage);
        Assert.Equal(9, usage.InputTokenCount);
        Assert.Equal(FakeOpenAIServer.StreamPieces.Length, usage.OutputTokenCount);
        Assert.Equal(9 + FakeOpenAIServer.StreamPieces.Length, usage.TotalTokenCount);
        Assert.True(gateway.Upstream.RequestWith(marker).Json["stream"]!.GetValue<bool>());
    }

    [Fact]
    public async Task RawStream_IsServerSentEventsEndingWithDone_WithUsageWhenAsked()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);
        var body = ChatApi.Request(workspace.Name, ChatApi.NewMarker(), stream: true);
        body["stream_options"] = new JsonObject { ["include_usage"] = true };

        using var response = await ChatApi.SendStreamingAsync(http, body);
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonNode.Parse(e)!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.Text("object")));
        var content = string.Concat(chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["delta"]?.Text("content")));
        Assert.Equal(string.Concat(FakeOpenAIServer.StreamPieces), content);

        var usage = Assert.Single(chunks, c => c["usage"] is JsonObject)["usage"]!;
        Assert.Same(chunks[^1], usage.Parent);
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
        Assert.Equal(9, usage["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(FakeOpenAIServer.StreamPieces.Length, usage["completion_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task RawStream_WithoutIncludeUsage_HasNoUsageChunk()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);

        using var response = await ChatApi.SendStreamingAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker(), stream: true));
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonNode.Parse(e)!).ToList();
        Assert.Equal(FakeOpenAIServer.StreamPieces.Length + 2, chunks.Count);
        Assert.All(chunks, c => Assert.Null(c["usage"]));
        Assert.All(chunks, c => Assert.Single(c["choices"]!.AsArray()));
    }

    [Fact]
    public async Task Upstream_ReceivesPolicyModelAndGatewayKey_NotWorkspaceNameOrCallerKey()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, marker));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var upstream = gateway.Upstream.RequestWith(marker);
        Assert.Equal(FakeOpenAIServer.Models.Echo, upstream.Json.Text("model"));
        Assert.Equal("Bearer " + gateway.UpstreamKey, upstream.Authorization);
        Assert.DoesNotContain(key, upstream.Authorization, StringComparison.Ordinal);
        Assert.DoesNotContain(key, upstream.Body, StringComparison.Ordinal);
        Assert.Equal("application/json", upstream.ContentType);
    }

    [Fact]
    public async Task Response_CarriesRouteHeaders()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);

        using var completion = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker()));
        using var stream = await ChatApi.SendStreamingAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker(), stream: true));

        foreach (var response in new[] { completion, stream })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(workspace.Name, Assert.Single(response.Headers.GetValues("x-rampart-workspace")));
            Assert.Equal("openai", Assert.Single(response.Headers.GetValues("x-rampart-provider")));
            Assert.Equal(FakeOpenAIServer.Models.Echo, Assert.Single(response.Headers.GetValues("x-rampart-model")));
        }
    }

    [Fact]
    public async Task Upstream_DoesNotReceiveRampartFields()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request(workspace.Name, marker);
        body["pii"] = "disabled";
        body["web_search"] = false;
        body["system"] = "Answer in French.";

        using var response = await ChatApi.PostAsync(http, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var upstream = gateway.Upstream.RequestWith(marker).Json;
        Assert.False(upstream.ContainsKey("pii"));
        Assert.False(upstream.ContainsKey("web_search"));
        Assert.False(upstream.ContainsKey("system"));
    }

    [Fact]
    public async Task Upstream_ReceivesUnknownFieldsUnchanged()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request(workspace.Name, marker);
        body["metadata"] = new JsonObject { ["a"] = "b" };
        body["reasoning_effort"] = "low";
        body["prediction"] = new JsonObject { ["type"] = "content", ["content"] = new JsonArray(1, "x", null, true) };

        using var response = await ChatApi.PostAsync(http, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var upstream = gateway.Upstream.RequestWith(marker).Json;
        foreach (var field in new[] { "metadata", "reasoning_effort", "prediction" })
        {
            Assert.True(JsonNode.DeepEquals(body[field], upstream[field]), $"{field}: sent {body[field]?.ToJsonString()}, upstream got {upstream[field]?.ToJsonString()}");
        }
    }

    [Fact]
    public async Task Upstream_ReceivesStandardFieldsUnchanged()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request(workspace.Name, marker);
        var standard = new JsonObject
        {
            ["temperature"] = 0.3,
            ["max_tokens"] = 50,
            ["seed"] = 42,
            ["stop"] = new JsonArray("END", "STOP"),
            ["tools"] = new JsonArray(new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = "get_weather",
                    ["description"] = "Weather for a city",
                    ["parameters"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject { ["city"] = new JsonObject { ["type"] = "string" } },
                        ["required"] = new JsonArray("city"),
                    },
                },
            }),
            ["tool_choice"] = new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = "get_weather" } },
            ["response_format"] = new JsonObject { ["type"] = "json_object" },
        };
        foreach (var (name, value) in standard)
        {
            body[name] = value?.DeepClone();
        }

        using var response = await ChatApi.PostAsync(http, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var upstream = gateway.Upstream.RequestWith(marker).Json;
        foreach (var (name, value) in standard)
        {
            Assert.True(JsonNode.DeepEquals(value, upstream[name]), $"{name}: sent {value?.ToJsonString()}, upstream got {upstream[name]?.ToJsonString()}");
        }
    }

    [Fact]
    public async Task Persona_IsPrependedAsSystemMessage_WhenCallerSendsNoSystemPrompt()
    {
        var persona = $"You are the persona {Guid.NewGuid():N}.";
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(persona: persona);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, marker));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var messages = gateway.Upstream.RequestWith(marker).Messages;
        Assert.Equal(2, messages.Count);
        Assert.Equal("system", messages[0].Text("role"));
        Assert.Equal(persona, messages[0].Text("content"));
        Assert.Equal("user", messages[1].Text("role"));
        Assert.Equal(marker, messages[1].Text("content"));
    }

    [Theory]
    [InlineData("system")]
    [InlineData("developer")]
    public async Task Persona_IsNotPrepended_WhenCallerSendsOwnSystemPrompt(string role)
    {
        var persona = $"You are the persona {Guid.NewGuid():N}.";
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(persona: persona);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request(workspace.Name, marker);
        var sent = new JsonArray(
            new JsonObject { ["role"] = role, ["content"] = "Talk like a pirate." },
            new JsonObject { ["role"] = "user", ["content"] = marker });
        body["messages"] = sent.DeepClone();

        using var response = await ChatApi.PostAsync(http, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var upstream = gateway.Upstream.RequestWith(marker);
        Assert.True(JsonNode.DeepEquals(sent, upstream.Messages), upstream.Messages.ToJsonString());
        Assert.DoesNotContain(persona, upstream.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SystemField_ReplacesPersona_AsFirstSystemMessage()
    {
        var persona = $"You are the persona {Guid.NewGuid():N}.";
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(persona: persona);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request(workspace.Name, marker);
        body["system"] = "X";

        using var response = await ChatApi.PostAsync(http, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var upstream = gateway.Upstream.RequestWith(marker);
        Assert.Equal(2, upstream.Messages.Count);
        Assert.Equal("system", upstream.Messages[0].Text("role"));
        Assert.Equal("X", upstream.Messages[0].Text("content"));
        Assert.Equal(marker, upstream.Messages[1].Text("content"));
        Assert.DoesNotContain(persona, upstream.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DirectModel_RunsUnderDefaultWorkspace_WithProviderModelUpstream()
    {
        var (_, key) = await gateway.CreateCallerAsync("default");
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(http, ChatApi.Request("openai/" + FakeOpenAIServer.Models.Echo, marker));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(FakeOpenAIServer.Models.Echo, gateway.Upstream.RequestWith(marker).Json.Text("model"));
        Assert.Equal("default", Assert.Single(response.Headers.GetValues("x-rampart-workspace")));
        Assert.Equal("openai", Assert.Single(response.Headers.GetValues("x-rampart-provider")));
        Assert.Equal(FakeOpenAIServer.Models.Echo, Assert.Single(response.Headers.GetValues("x-rampart-model")));
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(FakeOpenAIServer.CompletionText, answer["choices"]![0]!["message"].Text("content"));
    }

    [Fact]
    public async Task DirectModel_UnknownProvider_Returns404ModelNotFound()
    {
        var (_, key) = await gateway.CreateCallerAsync("default");
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(http, ChatApi.Request("nope/x", marker));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("model_not_found", error.Text("code"));
        Assert.Equal("model", error.Text("param"));
        Assert.DoesNotContain(gateway.Upstream.Requests, r => r.Body.Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task DirectModel_DefaultWorkspaceDisallowsDirectModels_Returns403()
    {
        var workspace = await gateway.CreateWorkspaceAsync(allowDirect: false);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(http, ChatApi.Request("openai/" + FakeOpenAIServer.Models.Echo, marker));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("permission_error", error.Text("type"));
        Assert.Equal("direct_models_disabled", error.Text("code"));
        Assert.DoesNotContain(gateway.Upstream.Requests, r => r.Body.Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ContentParts_ReachUpstreamAsParts()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var parts = new JsonArray(
            new JsonObject { ["type"] = "text", ["text"] = "First part." },
            new JsonObject { ["type"] = "text", ["text"] = marker });
        var body = ChatApi.Request(workspace.Name, "");
        body["messages"]![0]!["content"] = parts.DeepClone();

        using var response = await ChatApi.PostAsync(http, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var user = gateway.Upstream.RequestWith(marker).Messages.Single(m => m.Text("role") == "user")!;
        Assert.True(JsonNode.DeepEquals(parts, user["content"]), user.ToJsonString());
    }
}
