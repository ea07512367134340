using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Rampart.Tests.Infrastructure;
using Rampart.Workspaces;
using Models = Rampart.Tests.Infrastructure.FakeGeminiServer.Models;

namespace Rampart.Tests.Api;

/// <summary>The gateway with the <c>google</c> provider pointed at a <see cref="FakeGeminiServer"/>.</summary>
public sealed class GeminiFixture : GatewayFixture, IAsyncLifetime
{
    /// <summary>Generated per run, never a real key.</summary>
    public string GeminiKey { get; } = "test-gemini-" + Guid.NewGuid().ToString("N");

    public FakeGeminiServer Gemini { get; private set; } = null!;

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["GEMINI_API_KEY"] = GeminiKey;
        settings["GEMINI_BASE_URL"] = Gemini.BaseUrl;
    }

    async Task IAsyncLifetime.InitializeAsync()
    {
        // The fake must be listening before the gateway reads its address in Configure.
        Gemini = await FakeGeminiServer.StartAsync(GeminiKey);
        await InitializeAsync();
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await Gemini.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class GeminiTests : ICollectionFixture<GeminiFixture>
{
    public const string Name = "gemini";
}

[Collection(GeminiTests.Name)]
public sealed class GeminiProviderTests(GeminiFixture gateway)
{
    private static readonly string Text = string.Concat(FakeGeminiServer.TextPieces);

    private const string WeatherSchema = """
        {"$schema":"http://json-schema.org/draft-07/schema#","type":"object","additionalProperties":false,
         "properties":{"city":{"type":"string","description":"City name","format":"email"},
                       "days":{"type":["integer","null"]},
                       "options":{"type":"object","additionalProperties":false,"properties":{"units":{"type":"string","enum":["metric","imperial"]}}}},
         "required":["city"]}
        """;

    [Fact]
    public async Task Sdk_Completion_TranslatesTextFinishAndUsage()
    {
        var key = await CallerAsync();
        var chat = gateway.Sdk(key).GetChatClient("google/" + Models.Text);

        var completion = (await chat.CompleteChatAsync(new UserChatMessage(ChatApi.NewMarker()))).Value;

        Assert.Equal(Text, Assert.Single(completion.Content).Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal("gemini-2.0-flash-001", completion.Model);
        Assert.Equal("chatcmpl-fakeResponse123", completion.Id);
        Assert.Equal(12, completion.Usage.InputTokenCount);
        Assert.Equal(FakeGeminiServer.TextPieces.Length, completion.Usage.OutputTokenCount);
        Assert.Equal(12 + FakeGeminiServer.TextPieces.Length, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task Upstream_ReceivesNativeRequest_WithKeyHeaderModelInPathAndUserRole()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(http, ChatApi.Request("google/" + Models.Text, marker));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("google", Assert.Single(response.Headers.GetValues("x-rampart-provider")));
        var upstream = gateway.Gemini.RequestWith(marker);
        Assert.Equal(Models.Text, upstream.Model);
        Assert.Equal("generateContent", upstream.Method);
        Assert.Equal(gateway.GeminiKey, upstream.ApiKey);
        Assert.DoesNotContain(key, upstream.Body, StringComparison.Ordinal);
        Assert.Equal("application/json", upstream.ContentType);
        Assert.False(upstream.Json.ContainsKey("model"));
        Assert.False(upstream.Json.ContainsKey("messages"));
        var turn = Assert.Single(upstream.Contents)!;
        Assert.Equal("user", turn.Text("role"));
        Assert.Equal(marker, turn["parts"]![0].Text("text"));
    }

    [Fact]
    public async Task Streamed_EqualsNonStreamed_TextFinishAndUsage()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);

        var whole = await CompleteAsync(http, ChatApi.Request("google/" + Models.Text, ChatApi.NewMarker()));
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request("google/" + Models.Text, marker, stream: true);
        body["stream_options"] = new JsonObject { ["include_usage"] = true };
        var chunks = await StreamAsync(http, body);

        var choice = whole["choices"]![0]!;
        Assert.Equal(choice["message"].Text("content"), Content(chunks));
        Assert.Equal(Text, Content(chunks));
        Assert.Equal(choice.Text("finish_reason"), Assert.Single(chunks, c => c["choices"]!.AsArray().Any(x => x!["finish_reason"] is not null))["choices"]![0].Text("finish_reason"));
        Assert.Equal("assistant", chunks[0]["choices"]![0]!["delta"].Text("role"));
        Assert.All(chunks, c => Assert.Equal(chunks[0].Text("id"), c.Text("id")));
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.Text("object")));

        var usage = Assert.Single(chunks, c => c["usage"] is JsonObject);
        Assert.Same(chunks[^1], usage);
        Assert.Empty(usage["choices"]!.AsArray());
        Assert.True(JsonNode.DeepEquals(whole["usage"], usage["usage"]), $"{whole["usage"]} vs {usage["usage"]}");

        var upstream = gateway.Gemini.RequestWith(marker);
        Assert.Equal("streamGenerateContent", upstream.Method);
        Assert.Equal("?alt=sse", upstream.Query);
    }

    [Fact]
    public async Task Stream_WithoutIncludeUsage_HasNoUsageChunk()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);

        var chunks = await StreamAsync(http, ChatApi.Request("google/" + Models.Text, ChatApi.NewMarker(), stream: true));

        Assert.All(chunks, c => Assert.Null(c["usage"]));
        Assert.All(chunks, c => Assert.Single(c["choices"]!.AsArray()));
        Assert.Equal(Text, Content(chunks));
    }

    [Fact]
    public async Task Sdk_Streaming_ReassemblesTextAndReportsStop()
    {
        var key = await CallerAsync();
        var chat = gateway.Sdk(key).GetChatClient("google/" + Models.Text);

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(ChatApi.NewMarker())]))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(Text, text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal(12, usage.InputTokenCount);
    }

    [Fact]
    public async Task SystemAndDeveloperMessages_BecomeSystemInstruction_NotContents()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request("google/" + Models.Text, marker);
        body["messages"] = new JsonArray(
            new JsonObject { ["role"] = "system", ["content"] = "Answer in French." },
            new JsonObject { ["role"] = "developer", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "Be brief." }) },
            new JsonObject { ["role"] = "user", ["content"] = marker });

        await CompleteAsync(http, body);

        var upstream = gateway.Gemini.RequestWith(marker).Json;
        var system = upstream["systemInstruction"]!;
        Assert.Null(system["role"]);
        Assert.Equal(["Answer in French.", "Be brief."], system["parts"]!.AsArray().Select(p => p.Text("text")));
        Assert.Equal("user", Assert.Single(upstream["contents"]!.AsArray())!.Text("role"));
        Assert.DoesNotContain(WorkspacePolicy.DefaultPersona, upstream.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WorkspacePersona_BecomesSystemInstruction_ForAGoogleWorkspace()
    {
        var workspace = await gateway.CreateWorkspaceAsync(Models.Text, provider: "google", persona: "You are Rampart's Gemini persona.");
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, marker));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Models.Text, Assert.Single(response.Headers.GetValues("x-rampart-model")));
        var upstream = gateway.Gemini.RequestWith(marker).Json;
        Assert.Equal("You are Rampart's Gemini persona.", upstream["systemInstruction"]!["parts"]![0].Text("text"));
        Assert.Single(upstream["contents"]!.AsArray());
    }

    [Fact]
    public async Task AssistantTurns_BecomeModelRole_AndConsecutiveTurnsAreMerged()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = new JsonObject
        {
            ["model"] = "google/" + Models.Text,
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "user", ["content"] = "Hi." },
                new JsonObject { ["role"] = "user", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "Still there?" }) },
                new JsonObject { ["role"] = "assistant", ["content"] = "Yes." },
                new JsonObject { ["role"] = "system", ["content"] = "Mid-conversation instruction." },
                new JsonObject { ["role"] = "assistant", ["content"] = "" },
                new JsonObject { ["role"] = "user", ["content"] = marker }),
        };

        await CompleteAsync(http, body);

        var upstream = gateway.Gemini.RequestWith(marker).Json;
        var contents = upstream["contents"]!.AsArray();
        Assert.Equal(["user", "model", "user"], contents.Select(c => c.Text("role")));
        Assert.Equal(["Hi.", "Still there?"], contents[0]!["parts"]!.AsArray().Select(p => p.Text("text")));
        Assert.Equal("Yes.", Assert.Single(contents[1]!["parts"]!.AsArray()).Text("text"));
        Assert.Equal("Mid-conversation instruction.", Assert.Single(upstream["systemInstruction"]!["parts"]!.AsArray()).Text("text"));
    }

    [Fact]
    public async Task Sdk_Tools_ReachGeminiAsFunctionDeclarations_WithUnsupportedKeywordsStripped()
    {
        var key = await CallerAsync();
        var chat = gateway.Sdk(key).GetChatClient("google/" + Models.Function);
        var marker = ChatApi.NewMarker();
        var options = new ChatCompletionOptions
        {
            Tools =
            {
                ChatTool.CreateFunctionTool("get_weather", "Weather for a city", BinaryData.FromString(WeatherSchema)),
                ChatTool.CreateFunctionTool("no_arguments", "Takes nothing", BinaryData.FromString("""{"type":"object","properties":{}}""")),
                ChatTool.CreateFunctionTool("with_ref", "Uses $ref", BinaryData.FromString(
                    """{"type":"object","properties":{"p":{"$ref":"#/$defs/P"}},"$defs":{"P":{"type":"string"}}}""")),
            },
            ToolChoice = ChatToolChoice.CreateFunctionChoice("get_weather"),
        };

        await chat.CompleteChatAsync([new UserChatMessage(marker)], options);

        var upstream = gateway.Gemini.RequestWith(marker).Json;
        var declarations = Assert.Single(upstream["tools"]!.AsArray())!["functionDeclarations"]!.AsArray();
        Assert.Equal(["get_weather", "no_arguments", "with_ref"], declarations.Select(d => d.Text("name")));
        Assert.Equal("Weather for a city", declarations[0].Text("description"));
        var expected = JsonNode.Parse("""
            {"type":"object",
             "properties":{"city":{"type":"string","description":"City name"},
                           "days":{"type":"integer","nullable":true},
                           "options":{"type":"object","properties":{"units":{"type":"string","enum":["metric","imperial"]}}}},
             "required":["city"]}
            """);
        Assert.True(JsonNode.DeepEquals(expected, declarations[0]!["parameters"]), declarations[0]!["parameters"]!.ToJsonString());
        Assert.Null(declarations[1]!["parameters"]);
        Assert.Null(declarations[2]!["parameters"]);
        Assert.Equal("#/$defs/P", declarations[2]!["parametersJsonSchema"]!["properties"]!["p"].Text("$ref"));
        var config = upstream["toolConfig"]!["functionCallingConfig"]!;
        Assert.Equal("ANY", config.Text("mode"));
        Assert.Equal("get_weather", Assert.Single(config["allowedFunctionNames"]!.AsArray())!.GetValue<string>());
    }

    [Theory]
    [InlineData("none", "NONE")]
    [InlineData("auto", "AUTO")]
    [InlineData("required", "ANY")]
    public async Task ToolChoice_MapsToFunctionCallingMode(string choice, string mode)
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request("google/" + Models.Text, marker);
        body["tools"] = new JsonArray(Tool("get_weather", WeatherSchema));
        body["tool_choice"] = choice;

        await CompleteAsync(http, body);

        var config = gateway.Gemini.RequestWith(marker).Json["toolConfig"]!["functionCallingConfig"]!;
        Assert.Equal(mode, config.Text("mode"));
        Assert.Null(config["allowedFunctionNames"]);
    }

    [Fact]
    public async Task Sdk_FunctionCall_BecomesToolCallWithIdJsonArgumentsAndToolCallsFinish()
    {
        var key = await CallerAsync();
        var chat = gateway.Sdk(key).GetChatClient("google/" + Models.Function);
        var marker = ChatApi.NewMarker();

        var completion = (await chat.CompleteChatAsync([new UserChatMessage(marker)], WeatherTool())).Value;

        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        var call = Assert.Single(completion.ToolCalls);
        Assert.StartsWith("call_", call.Id, StringComparison.Ordinal);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.True(JsonNode.DeepEquals(FakeGeminiServer.FunctionArgs(marker), JsonNode.Parse(call.FunctionArguments.ToString())), call.FunctionArguments.ToString());
        Assert.Empty(completion.Content);
    }

    [Fact]
    public async Task Sdk_StreamedFunctionCall_ArgumentsArriveIntact()
    {
        var key = await CallerAsync();
        var chat = gateway.Sdk(key).GetChatClient("google/" + Models.Function);
        var marker = ChatApi.NewMarker();

        var arguments = new StringBuilder();
        string? name = null;
        string? id = null;
        ChatFinishReason? finish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(marker)], WeatherTool()))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                Assert.Equal(0, call.Index);
                name ??= call.FunctionName;
                id ??= call.ToolCallId;
                arguments.Append(call.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal("get_weather", name);
        Assert.StartsWith("call_", id, StringComparison.Ordinal);
        Assert.True(JsonNode.DeepEquals(FakeGeminiServer.FunctionArgs(marker), JsonNode.Parse(arguments.ToString())), arguments.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
    }

    [Fact]
    public async Task ParallelCalls_StreamedAndNot_HaveDistinctIndicesIdsAndEqualArguments()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);
        var body = ChatApi.Request("google/" + Models.Parallel, ChatApi.NewMarker());
        body["tools"] = new JsonArray(Tool("get_weather", WeatherSchema), Tool("get_time", """{"type":"object","properties":{"zone":{"type":"string"}}}"""));

        var whole = (await CompleteAsync(http, body))["choices"]![0]!;
        body["stream"] = true;
        var chunks = await StreamAsync(http, body);

        Assert.Equal("tool_calls", whole.Text("finish_reason"));
        var calls = whole["message"]!["tool_calls"]!.AsArray();
        Assert.Equal(["get_weather", "get_time"], calls.Select(c => c!["function"].Text("name")));
        Assert.Equal(2, calls.Select(c => c.Text("id")).Distinct().Count());

        var deltas = chunks.SelectMany(c => c["choices"]!.AsArray()).SelectMany(c => c!["delta"]!["tool_calls"]?.AsArray() ?? []).ToList();
        Assert.Equal([0, 1], deltas.Select(d => d!["index"]!.GetValue<int>()));
        Assert.Equal(["get_weather", "get_time"], deltas.Select(d => d!["function"].Text("name")));
        Assert.All(deltas, d => Assert.Equal("function", d.Text("type")));
        for (var i = 0; i < 2; i++)
        {
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(calls[i]!["function"].Text("arguments")!), JsonNode.Parse(deltas[i]!["function"].Text("arguments")!)));
        }

        Assert.Equal("tool_calls", chunks.SelectMany(c => c["choices"]!.AsArray()).Single(c => c!["finish_reason"] is not null).Text("finish_reason"));
    }

    [Fact]
    public async Task Sdk_ToolResults_RoundTripAsFunctionCallsAndNamedFunctionResponses()
    {
        var key = await CallerAsync();
        var chat = gateway.Sdk(key).GetChatClient("google/" + Models.Function);
        var marker = ChatApi.NewMarker();
        ChatMessage[] conversation =
        [
            new UserChatMessage(marker),
            new AssistantChatMessage([
                ChatToolCall.CreateFunctionToolCall("call_a", "get_weather", BinaryData.FromString("""{"city":"Zürich"}""")),
                ChatToolCall.CreateFunctionToolCall("call_b", "get_time", BinaryData.FromString("""{"zone":"Asia/Tokyo"}""")),
            ]),
            new ToolChatMessage("call_b", "14:05"),
            new ToolChatMessage("call_a", """{"temperature":21,"sky":"clear"}"""),
        ];

        var completion = (await chat.CompleteChatAsync(conversation, WeatherTool())).Value;

        var contents = gateway.Gemini.RequestWith(marker).Contents;
        Assert.Equal(["user", "model", "user"], contents.Select(c => c.Text("role")));
        var calls = contents[1]!["parts"]!.AsArray().Select(p => p!["functionCall"]!).ToList();
        Assert.Equal(["get_weather", "get_time"], calls.Select(c => c.Text("name")));
        Assert.Equal("Zürich", calls[0]["args"].Text("city"));
        var responses = contents[2]!["parts"]!.AsArray().Select(p => p!["functionResponse"]!).ToList();
        Assert.Equal(["get_time", "get_weather"], responses.Select(r => r.Text("name")));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"output":"14:05"}"""), responses[0]["response"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"temperature":21,"sky":"clear"}"""), responses[1]["response"]));
        Assert.Equal("""Results: get_time={"output":"14:05"}; get_weather={"temperature":21,"sky":"clear"}""", Assert.Single(completion.Content).Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
    }

    [Fact]
    public async Task ThoughtSignature_TravelsInExtraContent_AndGoesBackOnTheFunctionCall()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);
        var body = ChatApi.Request("google/" + Models.Function, ChatApi.NewMarker());
        body["tools"] = new JsonArray(Tool("get_weather", WeatherSchema));

        var message = (await CompleteAsync(http, body))["choices"]![0]!["message"]!;
        body["stream"] = true;
        var streamed = (await StreamAsync(http, body)).SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["delta"]!["tool_calls"]?[0]).Single(t => t is not null)!;
        var call = message["tool_calls"]![0]!;
        var marker = ChatApi.NewMarker();
        var next = new JsonObject
        {
            ["model"] = "google/" + Models.Function,
            ["tools"] = new JsonArray(Tool("get_weather", WeatherSchema)),
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "user", ["content"] = marker },
                new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(call.DeepClone()) },
                new JsonObject { ["role"] = "tool", ["tool_call_id"] = call.Text("id"), ["content"] = "sunny" }),
        };
        await CompleteAsync(http, next);

        Assert.Equal(FakeGeminiServer.ThoughtSignature, call["extra_content"]!["google"].Text("thought_signature"));
        Assert.Equal(FakeGeminiServer.ThoughtSignature, streamed["extra_content"]!["google"].Text("thought_signature"));
        var part = gateway.Gemini.RequestWith(marker).Contents[1]!["parts"]![0]!;
        Assert.Equal(FakeGeminiServer.ThoughtSignature, part.Text("thoughtSignature"));
        Assert.Equal("get_weather", part["functionCall"].Text("name"));
    }

    [Fact]
    public async Task ToolCallArguments_ThatAreNotAJsonObject_Return400BeforeReachingGemini()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = new JsonObject
        {
            ["model"] = "google/" + Models.Function,
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "user", ["content"] = marker },
                new JsonObject
                {
                    ["role"] = "assistant",
                    ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["id"] = "call_x", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = "{\"city\": \"Par" },
                    }),
                },
                new JsonObject { ["role"] = "tool", ["tool_call_id"] = "call_x", ["content"] = "sunny" }),
        };

        using var response = await ChatApi.PostAsync(http, body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("messages[].tool_calls[].function.arguments", error.Text("param"));
        Assert.Contains("tool call 'call_x' must be a JSON object", error.Text("message"), StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Gemini.Requests, r => r.Body.Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ToolResult_ForAnUnknownCallId_Returns400NamingIt()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);
        var body = new JsonObject
        {
            ["model"] = "google/" + Models.Function,
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "user", ["content"] = ChatApi.NewMarker() },
                new JsonObject { ["role"] = "tool", ["tool_call_id"] = "call_nobody_made", ["content"] = "sunny" }),
        };

        using var response = await ChatApi.PostAsync(http, body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("messages[].tool_call_id", error.Text("param"));
        Assert.Contains("call_nobody_made", error.Text("message"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedFunctionCall_NonStreamed_Is502NamingIt_NotStop()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);

        using var response = await ChatApi.PostAsync(http, ChatApi.Request("google/" + Models.Malformed, ChatApi.NewMarker()));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("upstream_error", error.Text("code"));
        Assert.Contains("MALFORMED_FUNCTION_CALL", error.Text("message"), StringComparison.Ordinal);
        Assert.Contains(FakeGeminiServer.MalformedMessage, error.Text("message"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedFunctionCall_Streamed_EndsWithErrorEvent_NeverAFinishReason()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);

        using var response = await ChatApi.SendStreamingAsync(http, ChatApi.Request("google/" + Models.Malformed, ChatApi.NewMarker(), stream: true));
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("[DONE]", events);
        var error = JsonNode.Parse(events[^1])!["error"]!;
        Assert.Contains("MALFORMED_FUNCTION_CALL", error.Text("message"), StringComparison.Ordinal);
        var chunks = events.SkipLast(1).Select(e => JsonNode.Parse(e)!).ToList();
        Assert.Equal("Let me check.", Content(chunks));
        Assert.All(chunks.SelectMany(c => c["choices"]!.AsArray()), c => Assert.Null(c!["finish_reason"]));
    }

    [Fact]
    public async Task TruncatedStream_EndsWithErrorEvent_NotAQuietStop()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);

        using var response = await ChatApi.SendStreamingAsync(http, ChatApi.Request("google/" + Models.Truncated, ChatApi.NewMarker(), stream: true));
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        Assert.DoesNotContain("[DONE]", events);
        Assert.Contains("ended before the answer was finished", JsonNode.Parse(events[^1])!["error"].Text("message"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BlockedPrompt_Returns400ContentPolicyViolation_NamingTheReason(bool stream)
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);

        using var response = stream
            ? await ChatApi.SendStreamingAsync(http, ChatApi.Request("google/" + Models.Blocked, ChatApi.NewMarker(), stream: true))
            : await ChatApi.PostAsync(http, ChatApi.Request("google/" + Models.Blocked, ChatApi.NewMarker()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("content_policy_violation", error.Text("code"));
        Assert.Equal("invalid_request_error", error.Text("type"));
        Assert.Contains("blockReason SAFETY", error.Text("message"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Models.Safety, "content_filter", "I can start, but")]
    [InlineData(Models.MaxTokens, "length", "This answer is cut short")]
    public async Task FinishReasons_TranslateTheSameStreamedAndNot(string model, string finish, string text)
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);

        var whole = (await CompleteAsync(http, ChatApi.Request("google/" + model, ChatApi.NewMarker())))["choices"]![0]!;
        var chunks = await StreamAsync(http, ChatApi.Request("google/" + model, ChatApi.NewMarker(), stream: true));

        Assert.Equal(finish, whole.Text("finish_reason"));
        Assert.Equal(text, whole["message"].Text("content"));
        Assert.Equal(finish, chunks.SelectMany(c => c["choices"]!.AsArray()).Single(c => c!["finish_reason"] is not null).Text("finish_reason"));
        Assert.Equal(text, Content(chunks));
    }

    [Fact]
    public async Task N2_ReturnsTwoChoices_StreamedAndNot()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request("google/" + Models.Text, marker);
        body["n"] = 2;

        var whole = await CompleteAsync(http, body);
        body["stream"] = true;
        var chunks = await StreamAsync(http, body);

        Assert.Equal(2, gateway.Gemini.Requests.First(r => r.Body.Contains(marker, StringComparison.Ordinal)).Json["generationConfig"]!["candidateCount"]!.GetValue<int>());
        var choices = whole["choices"]!.AsArray();
        Assert.Equal([0, 1], choices.Select(c => c!["index"]!.GetValue<int>()));
        Assert.Equal(Text, choices[0]!["message"].Text("content"));
        Assert.Equal(string.Concat(FakeGeminiServer.TextPieces.Select(p => "[1]" + p)), choices[1]!["message"].Text("content"));
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(choices[i]!["message"].Text("content"), Content(chunks, i));
            var lane = chunks.SelectMany(c => c["choices"]!.AsArray()).Where(c => c!["index"]!.GetValue<int>() == i).ToList();
            Assert.Equal("assistant", lane[0]!["delta"].Text("role"));
            Assert.Equal("stop", Assert.Single(lane, c => c!["finish_reason"] is not null)!.Text("finish_reason"));
        }
    }

    [Fact]
    public async Task ThoughtParts_BecomeReasoningContent_AndCountAsReasoningTokens()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);

        var whole = await CompleteAsync(http, ChatApi.Request("google/" + Models.Thinking, ChatApi.NewMarker()));
        var body = ChatApi.Request("google/" + Models.Thinking, ChatApi.NewMarker(), stream: true);
        body["stream_options"] = new JsonObject { ["include_usage"] = true };
        var chunks = await StreamAsync(http, body);

        var message = whole["choices"]![0]!["message"]!;
        Assert.Equal(Text, message.Text("content"));
        Assert.Equal(FakeGeminiServer.ThoughtText, message.Text("reasoning_content"));
        Assert.Equal(25, whole["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Equal(20, whole["usage"]!["completion_tokens_details"]!["reasoning_tokens"]!.GetValue<int>());
        Assert.Equal(Text, Content(chunks));
        Assert.Equal(FakeGeminiServer.ThoughtText, string.Concat(chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["delta"].Text("reasoning_content"))));
        Assert.True(JsonNode.DeepEquals(whole["usage"], chunks[^1]["usage"]));
    }

    [Fact]
    public async Task Overloaded503_Returns502WithGeminisMessage()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);

        using var response = await ChatApi.PostAsync(http, ChatApi.Request("google/" + Models.Unavailable, ChatApi.NewMarker()));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("upstream_error", error.Text("code"));
        Assert.Contains("The model is overloaded", error.Text("message"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task InvalidGeminiKey_Returns502UpstreamAuthFailed_NotTheCallersFault(bool stream)
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);

        using var response = stream
            ? await ChatApi.SendStreamingAsync(http, ChatApi.Request("google/" + Models.RevokedKey, ChatApi.NewMarker(), stream: true))
            : await ChatApi.PostAsync(http, ChatApi.Request("google/" + Models.RevokedKey, ChatApi.NewMarker()));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("upstream_auth_failed", error.Text("code"));
        Assert.DoesNotContain(gateway.GeminiKey, error.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerationConfig_CarriesSamplingLimitsStopSeedAndJsonMode()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request("google/" + Models.Text, marker);
        body["temperature"] = 0.3;
        body["top_p"] = 0.9;
        body["max_tokens"] = 50;
        body["max_completion_tokens"] = 40;
        body["stop"] = "END";
        body["seed"] = 42;
        body["presence_penalty"] = 0.5;
        body["response_format"] = new JsonObject { ["type"] = "json_object" };
        body["user"] = "someone";
        body["parallel_tool_calls"] = false;

        await CompleteAsync(http, body);

        var expected = JsonNode.Parse("""
            {"stopSequences":["END"],"responseMimeType":"application/json","maxOutputTokens":40,"temperature":0.3,"topP":0.9,"seed":42,"presencePenalty":0.5}
            """);
        var upstream = gateway.Gemini.RequestWith(marker).Json;
        Assert.True(JsonNode.DeepEquals(expected, upstream["generationConfig"]), upstream["generationConfig"]!.ToJsonString());
    }

    [Fact]
    public async Task JsonSchemaResponseFormat_BecomesResponseSchema_OrResponseJsonSchemaWhenNotConvertible()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);
        var simple = ChatApi.NewMarker();
        var complex = ChatApi.NewMarker();
        JsonObject Format(string schema) => new()
        {
            ["type"] = "json_schema",
            ["json_schema"] = new JsonObject { ["name"] = "answer", ["strict"] = true, ["schema"] = JsonNode.Parse(schema) },
        };
        var first = ChatApi.Request("google/" + Models.Text, simple);
        first["response_format"] = Format("""{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"],"additionalProperties":false}""");
        var second = ChatApi.Request("google/" + Models.Text, complex);
        second["response_format"] = Format("""{"type":"object","properties":{"a":{"oneOf":[{"type":"string"},{"type":"number"}]}}}""");

        await CompleteAsync(http, first);
        await CompleteAsync(http, second);

        var config = gateway.Gemini.RequestWith(simple).Json["generationConfig"]!;
        Assert.Equal("application/json", config.Text("responseMimeType"));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}"""), config["responseSchema"]));
        var fallback = gateway.Gemini.RequestWith(complex).Json["generationConfig"]!;
        Assert.Null(fallback["responseSchema"]);
        Assert.NotNull(fallback["responseJsonSchema"]!["properties"]!["a"]!["oneOf"]);
    }

    [Fact]
    public async Task ImageParts_BecomeInlineDataAndFileData()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = new JsonObject
        {
            ["model"] = "google/" + Models.Text,
            ["messages"] = new JsonArray(new JsonObject
            {
                ["role"] = "user",
                ["content"] = new JsonArray(
                    new JsonObject { ["type"] = "text", ["text"] = marker },
                    new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = "data:image/png;base64,iVBORw0KGgo=" } },
                    new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = "https://example.test/cat.jpg", ["detail"] = "high" } }),
            }),
        };

        await CompleteAsync(http, body);

        var parts = Assert.Single(gateway.Gemini.RequestWith(marker).Contents)!["parts"]!.AsArray();
        Assert.Equal(3, parts.Count);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}"""), parts[1]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"fileData":{"mimeType":"image/jpeg","fileUri":"https://example.test/cat.jpg"}}"""), parts[2]));
    }

    [Fact]
    public async Task GeminiAlias_RoutesToTheGoogleProvider()
    {
        var key = await CallerAsync();
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();

        var completion = await CompleteAsync(http, ChatApi.Request("gemini/" + Models.Text, marker));

        Assert.Equal(Text, completion["choices"]![0]!["message"].Text("content"));
        Assert.Equal(Models.Text, gateway.Gemini.RequestWith(marker).Model);
    }

    /// <summary>A caller whose default workspace (with the default persona) allows direct <c>google/…</c> model ids.</summary>
    private async Task<string> CallerAsync()
    {
        var workspace = await gateway.CreateWorkspaceAsync(Models.Text, provider: "google");
        return (await gateway.CreateCallerAsync(workspace.Name)).Key;
    }

    private static ChatCompletionOptions WeatherTool() => new()
    {
        Tools = { ChatTool.CreateFunctionTool("get_weather", "Weather for a city", BinaryData.FromString(WeatherSchema)) },
    };

    private static JsonObject Tool(string name, string schema) => new()
    {
        ["type"] = "function",
        ["function"] = new JsonObject { ["name"] = name, ["parameters"] = JsonNode.Parse(schema) },
    };

    private static async Task<JsonNode> CompleteAsync(HttpClient http, JsonObject body)
    {
        using var response = await ChatApi.PostAsync(http, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!;
    }

    private static async Task<List<JsonNode>> StreamAsync(HttpClient http, JsonObject body)
    {
        using var response = await ChatApi.SendStreamingAsync(http, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var events = ChatApi.SseData(text);
        Assert.Equal("[DONE]", events[^1]);
        return [.. events.SkipLast(1).Select(e => JsonNode.Parse(e)!)];
    }

    private static string Content(IEnumerable<JsonNode> chunks, int index = 0) =>
        string.Concat(chunks.SelectMany(c => c["choices"]!.AsArray())
            .Where(c => c!["index"]!.GetValue<int>() == index)
            .Select(c => c!["delta"].Text("content")));
}

public sealed class GeminiFirstStartTests
{
    [Fact]
    public async Task OnlyGeminiConfigured_DefaultWorkspaceUsesGemini20Flash()
    {
        var gateway = new GeminiOnlyGateway();
        try
        {
            await gateway.InitializeAsync();

            Assert.Contains("(google/gemini-2.0-flash)", gateway.FirstStartOutput.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            await gateway.DisposeAsync();
        }
    }

    private sealed class GeminiOnlyGateway : GatewayFixture
    {
        protected override void Configure(Dictionary<string, string?> settings)
        {
            settings["OPENAI_API_KEY"] = "";
            settings["OPENAI_BASE_URL"] = "";
            settings["GEMINI_API_KEY"] = "test-gemini-" + Guid.NewGuid().ToString("N");
        }
    }
}
