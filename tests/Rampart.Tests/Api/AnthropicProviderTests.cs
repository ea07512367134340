using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Rampart.Tests.Infrastructure;
using Models = Rampart.Tests.Infrastructure.FakeAnthropicServer.Models;

namespace Rampart.Tests.Api;

/// <summary>OpenAI callers served by Anthropic's native Messages API, through the gateway, against a fake of that API.</summary>
[Collection(AnthropicGatewayTests.Name)]
public sealed class AnthropicProviderTests(AnthropicGatewayFixture gateway)
{
    private const string CityTool = "lookup_city";

    private const string CitySchema = """{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}""";

    private static readonly int PromptTokens = FakeAnthropicServer.InputTokens + FakeAnthropicServer.CacheReadTokens + FakeAnthropicServer.CacheCreationTokens;

    private FakeAnthropicServer Anthropic => gateway.Anthropic;

    [Fact]
    public async Task Sdk_Completion_TranslatesTextFinishReasonAndUsage()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Text);
        var marker = ChatApi.NewMarker();

        var completion = (await gateway.Sdk(key).GetChatClient(workspace).CompleteChatAsync(new UserChatMessage(marker))).Value;

        Assert.Equal(string.Concat(FakeAnthropicServer.TextPieces), Assert.Single(completion.Content).Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(PromptTokens, completion.Usage.InputTokenCount);
        Assert.Equal(FakeAnthropicServer.TextPieces.Length, completion.Usage.OutputTokenCount);
        Assert.Equal(PromptTokens + FakeAnthropicServer.TextPieces.Length, completion.Usage.TotalTokenCount);
        Assert.Equal(FakeAnthropicServer.CacheReadTokens, completion.Usage.InputTokenDetails.CachedTokenCount);
    }

    [Fact]
    public async Task Upstream_ReceivesNativeRequest_WithKeyVersionAndDefaultMaxTokens()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Text);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace, marker));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var upstream = Anthropic.RequestWith(marker);
        Assert.Equal(gateway.AnthropicKey, upstream.ApiKey);
        Assert.Equal("2023-06-01", upstream.Version);
        Assert.Equal("application/json", upstream.ContentType);
        Assert.DoesNotContain(key, upstream.Body, StringComparison.Ordinal);
        var expected = JsonNode.Parse($$$"""
            {"model":"{{{Models.Text}}}","messages":[{"role":"user","content":[{"type":"text","text":"{{{marker}}}"}]}],"max_tokens":4096}
            """);
        Assert.True(JsonNode.DeepEquals(expected, upstream.Json), upstream.Body);
    }

    [Fact]
    public async Task Sdk_Streaming_EqualsNonStreamed()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Text);
        var chat = gateway.Sdk(key).GetChatClient(workspace);

        var completion = (await chat.CompleteChatAsync(new UserChatMessage(ChatApi.NewMarker()))).Value;
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finishReason = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(new UserChatMessage(ChatApi.NewMarker())))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            usage ??= update.Usage;
            finishReason ??= update.FinishReason;
        }

        Assert.Equal(Assert.Single(completion.Content).Text, text.ToString());
        Assert.Equal(completion.FinishReason, finishReason);
        Assert.NotNull(usage);
        Assert.Equal(completion.Usage.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(completion.Usage.OutputTokenCount, usage.OutputTokenCount);
        Assert.Equal(completion.Usage.TotalTokenCount, usage.TotalTokenCount);
        Assert.Equal(completion.Usage.InputTokenDetails.CachedTokenCount, usage.InputTokenDetails.CachedTokenCount);
    }

    [Fact]
    public async Task RawStream_SharesOneIdAndModel_StartsWithRole_EndsWithFinishThenUsage()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Text);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request(workspace, marker, stream: true);
        body["stream_options"] = new JsonObject { ["include_usage"] = true };

        using var response = await ChatApi.SendStreamingAsync(http, body);
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonNode.Parse(e)!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.Text("object")));
        Assert.Single(chunks.Select(c => c.Text("id")).Distinct());
        Assert.Single(chunks.Select(c => c["created"]!.GetValue<long>()).Distinct());
        Assert.All(chunks, c => Assert.Equal(Models.Text, c.Text("model")));

        var first = chunks[0]["choices"]![0]!["delta"]!;
        Assert.Equal("assistant", first.Text("role"));
        Assert.Equal("", first.Text("content"));
        var content = string.Concat(chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["delta"]?.Text("content")));
        Assert.Equal(string.Concat(FakeAnthropicServer.TextPieces), content);
        Assert.Equal("stop", chunks[^2]["choices"]![0]!.Text("finish_reason"));
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
        Assert.Equal(PromptTokens, chunks[^1]["usage"]!["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(FakeAnthropicServer.TextPieces.Length, chunks[^1]["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Single(chunks, c => c["usage"] is not null);

        var upstream = Anthropic.RequestWith(marker).Json;
        Assert.True(upstream["stream"]!.GetValue<bool>());
        Assert.False(upstream.ContainsKey("stream_options"));
    }

    [Fact]
    public async Task RawStream_WithoutIncludeUsage_HasNoUsageChunk()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Text);
        using var http = gateway.Http(key);

        using var response = await ChatApi.SendStreamingAsync(http, ChatApi.Request(workspace, ChatApi.NewMarker(), stream: true));
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        var chunks = events.SkipLast(1).Select(e => JsonNode.Parse(e)!).ToList();
        Assert.All(chunks, c => Assert.Null(c["usage"]));
        Assert.All(chunks, c => Assert.Single(c["choices"]!.AsArray()));
        Assert.Equal("stop", chunks[^1]["choices"]![0]!.Text("finish_reason"));
    }

    [Fact]
    public async Task Sdk_Tools_ReachAnthropicAsInputSchema_AndToolUseComesBackAsToolCalls()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Tool);
        var marker = ChatApi.NewMarker();

        var completion = (await gateway.Sdk(key).GetChatClient(workspace).CompleteChatAsync([new UserChatMessage(marker)], ToolOptions())).Value;

        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        Assert.Equal(FakeAnthropicServer.ToolPreamble, Assert.Single(completion.Content).Text);
        Assert.Equal(2, completion.ToolCalls.Count);
        Assert.Equal(["toolu_01FakePARIS", "toolu_02FakeTOKYO"], completion.ToolCalls.Select(c => c.Id));
        Assert.All(completion.ToolCalls, c => Assert.Equal(CityTool, c.FunctionName));
        for (var i = 0; i < 2; i++)
        {
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(FakeAnthropicServer.ToolInputs[i]), JsonNode.Parse(completion.ToolCalls[i].FunctionArguments.ToString())));
        }

        var upstream = Anthropic.RequestWith(marker).Json;
        var tool = Assert.Single(upstream["tools"]!.AsArray())!;
        Assert.Equal(CityTool, tool.Text("name"));
        Assert.Equal("Looks up a city.", tool.Text("description"));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(CitySchema), tool["input_schema"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"type":"any","disable_parallel_tool_use":true}"""), upstream["tool_choice"]));
    }

    [Fact]
    public async Task Sdk_StreamedToolCalls_EqualNonStreamed()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Tool);
        var chat = gateway.Sdk(key).GetChatClient(workspace);

        var completion = (await chat.CompleteChatAsync([new UserChatMessage(ChatApi.NewMarker())], ToolOptions())).Value;
        var ids = new Dictionary<int, string>();
        var names = new Dictionary<int, string>();
        var arguments = new Dictionary<int, StringBuilder>();
        var text = new StringBuilder();
        ChatFinishReason? finishReason = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(ChatApi.NewMarker())], ToolOptions()))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            finishReason ??= update.FinishReason;
            foreach (var call in update.ToolCallUpdates)
            {
                if (call.ToolCallId is { } id)
                {
                    ids[call.Index] = id;
                }

                if (call.FunctionName is { } name)
                {
                    names[call.Index] = name;
                }

                (arguments.TryGetValue(call.Index, out var sb) ? sb : arguments[call.Index] = new StringBuilder()).Append(call.FunctionArgumentsUpdate?.ToString());
            }
        }

        Assert.Equal(ChatFinishReason.ToolCalls, finishReason);
        Assert.Equal(Assert.Single(completion.Content).Text, text.ToString());
        Assert.Equal([0, 1], ids.Keys.Order());
        for (var i = 0; i < completion.ToolCalls.Count; i++)
        {
            Assert.Equal(completion.ToolCalls[i].Id, ids[i]);
            Assert.Equal(completion.ToolCalls[i].FunctionName, names[i]);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(completion.ToolCalls[i].FunctionArguments.ToString()), JsonNode.Parse(arguments[i].ToString())));
        }
    }

    [Fact]
    public async Task RawStream_ToolCalls_AreNumberedPerTool_WithIdAndNameFirst()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Tool);
        using var http = gateway.Http(key);

        using var response = await ChatApi.SendStreamingAsync(http, ChatApi.Request(workspace, ChatApi.NewMarker(), stream: true));
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        var calls = events.SkipLast(1).Select(e => JsonNode.Parse(e)!["choices"]![0]!["delta"]!["tool_calls"]).OfType<JsonArray>().Select(a => Assert.Single(a)!).ToList();
        var starts = calls.Where(c => c.Text("id") is not null).ToList();
        Assert.Equal([0, 1], starts.Select(c => c["index"]!.GetValue<int>()));
        Assert.All(starts, c => Assert.Equal("function", c.Text("type")));
        Assert.All(starts, c => Assert.Equal(FakeAnthropicServer.DefaultToolName, c["function"].Text("name")));
        Assert.All(starts, c => Assert.Equal("", c["function"].Text("arguments")));
        Assert.True(calls.Count > 6, "arguments arrive in several pieces");
        for (var i = 0; i < 2; i++)
        {
            var joined = string.Concat(calls.Where(c => c["index"]!.GetValue<int>() == i).Select(c => c["function"].Text("arguments")));
            Assert.Equal(FakeAnthropicServer.ToolInputs[i], joined);
        }
    }

    [Fact]
    public async Task Sdk_ToolCallRoundTrip_ReachesAnthropicAsToolUseAndToolResult()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Text);
        var marker = ChatApi.NewMarker();
        List<ChatMessage> messages =
        [
            new UserChatMessage("Weather in Paris and Tokyo?"),
            new AssistantChatMessage(
            [
                ChatToolCall.CreateFunctionToolCall("toolu_A", CityTool, BinaryData.FromString("""{"city":"Paris"}""")),
                ChatToolCall.CreateFunctionToolCall("toolu_B", CityTool, BinaryData.FromString("""{"city":"Tokyo","days":2}""")),
            ]),
            new ToolChatMessage("toolu_A", "18°C and sunny"),
            new ToolChatMessage("toolu_B", "12°C, rain"),
            new UserChatMessage(marker),
        ];

        var completion = (await gateway.Sdk(key).GetChatClient(workspace).CompleteChatAsync(messages, ToolOptions(required: false))).Value;

        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        var expected = JsonNode.Parse($$$"""
            [
              {"role":"user","content":[{"type":"text","text":"Weather in Paris and Tokyo?"}]},
              {"role":"assistant","content":[
                {"type":"tool_use","id":"toolu_A","name":"{{{CityTool}}}","input":{"city":"Paris"}},
                {"type":"tool_use","id":"toolu_B","name":"{{{CityTool}}}","input":{"city":"Tokyo","days":2}}]},
              {"role":"user","content":[
                {"type":"tool_result","tool_use_id":"toolu_A","content":[{"type":"text","text":"18°C and sunny"}]},
                {"type":"tool_result","tool_use_id":"toolu_B","content":[{"type":"text","text":"12°C, rain"}]},
                {"type":"text","text":"{{{marker}}}"}]}
            ]
            """);
        var upstream = Anthropic.RequestWith(marker).Json;
        Assert.True(JsonNode.DeepEquals(expected, upstream["messages"]), upstream["messages"]!.ToJsonString());
        Assert.Equal(CityTool, Assert.Single(upstream["tools"]!.AsArray())!.Text("name"));
        Assert.False(upstream.ContainsKey("tool_choice"));
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1,2]")]
    public async Task ToolCallArgumentsNotAJsonObject_Returns400_WithoutCallingAnthropic(string arguments)
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Text);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request(workspace, marker);
        body["messages"] = JsonNode.Parse($$$"""
            [
              {"role":"user","content":"{{{marker}}}"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":{{{JsonValue.Create(arguments).ToJsonString()}}}}}]},
              {"role":"tool","tool_call_id":"call_1","content":"done"}
            ]
            """);

        using var response = await ChatApi.PostAsync(http, body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("invalid_request_error", error.Text("type"));
        Assert.Equal("messages[1].tool_calls[0].function.arguments", error.Text("param"));
        Assert.Contains("JSON object", error.Text("message"), StringComparison.Ordinal);
        Assert.DoesNotContain(Anthropic.Requests, r => r.Body.Contains(marker, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Thinking_BecomesReasoningContent(bool stream)
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Thinking);
        using var http = gateway.Http(key);

        var (content, reasoning, finish) = await AnswerAsync(http, ChatApi.Request(workspace, ChatApi.NewMarker(), stream));

        Assert.Equal(string.Concat(FakeAnthropicServer.ThinkingAnswerPieces), content);
        Assert.Equal(string.Concat(FakeAnthropicServer.ThinkingPieces), reasoning);
        Assert.Equal("stop", finish);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sdk_MaxOutputTokens_IsSentAsMaxTokens_AndMaxTokensStopIsLength(bool stream)
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.MaxTokens);
        var chat = gateway.Sdk(key).GetChatClient(workspace);
        var marker = ChatApi.NewMarker();
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 3 };

        ChatFinishReason? finishReason = null;
        var text = new StringBuilder();
        if (stream)
        {
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(marker)], options))
            {
                text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
                finishReason ??= update.FinishReason;
            }
        }
        else
        {
            var completion = (await chat.CompleteChatAsync([new UserChatMessage(marker)], options)).Value;
            text.Append(completion.Content[0].Text);
            finishReason = completion.FinishReason;
        }

        Assert.Equal(ChatFinishReason.Length, finishReason);
        Assert.Equal(string.Concat(FakeAnthropicServer.MaxTokensPieces), text.ToString());
        Assert.Equal(3, Anthropic.RequestWith(marker).Json["max_tokens"]!.GetValue<int>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Refusal_IsContentFilter(bool stream)
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Refusal);
        using var http = gateway.Http(key);

        var (content, _, finish) = await AnswerAsync(http, ChatApi.Request(workspace, ChatApi.NewMarker(), stream));

        Assert.Equal("", content);
        Assert.Equal("content_filter", finish);
    }

    [Fact]
    public async Task SystemAndDeveloperMessages_BecomeTopLevelSystem_AndRolesAlternate()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Text, persona: "The workspace persona.");
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request(workspace, marker);
        body["messages"] = JsonNode.Parse($$$"""
            [
              {"role":"system","content":"Be brief."},
              {"role":"developer","content":[{"type":"text","text":"Answer in French."}]},
              {"role":"user","content":"first"},
              {"role":"user","content":[{"type":"text","text":"second"},{"type":"text","text":"{{{marker}}}"}]},
              {"role":"assistant","content":"Oui."},
              {"role":"assistant","content":""},
              {"role":"user","content":"again"}
            ]
            """);

        using var response = await ChatApi.PostAsync(http, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var upstream = Anthropic.RequestWith(marker).Json;
        Assert.Equal("Be brief.\n\nAnswer in French.", upstream.Text("system"));
        var expected = JsonNode.Parse($$$"""
            [
              {"role":"user","content":[{"type":"text","text":"first"},{"type":"text","text":"second"},{"type":"text","text":"{{{marker}}}"}]},
              {"role":"assistant","content":[{"type":"text","text":"Oui."}]},
              {"role":"user","content":[{"type":"text","text":"again"}]}
            ]
            """);
        Assert.True(JsonNode.DeepEquals(expected, upstream["messages"]), upstream["messages"]!.ToJsonString());
    }

    [Fact]
    public async Task Persona_ArrivesAsSystem()
    {
        var persona = $"You are the persona {Guid.NewGuid():N}.";
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Text, persona);
        var marker = ChatApi.NewMarker();

        await gateway.Sdk(key).GetChatClient(workspace).CompleteChatAsync(new UserChatMessage(marker));

        var upstream = Anthropic.RequestWith(marker);
        Assert.Equal(persona, upstream.Json.Text("system"));
        Assert.Equal("user", Assert.Single(upstream.Messages)!.Text("role"));
    }

    [Fact]
    public async Task DirectModelId_IsServedByAnthropic()
    {
        var (_, key) = await gateway.WorkspaceWithCallerAsync(Models.Thinking);
        var marker = ChatApi.NewMarker();

        var completion = (await gateway.Sdk(key).GetChatClient("anthropic/" + Models.Text).CompleteChatAsync(new UserChatMessage(marker))).Value;

        Assert.Equal(string.Concat(FakeAnthropicServer.TextPieces), completion.Content[0].Text);
        Assert.Equal(Models.Text, Anthropic.RequestWith(marker).Json.Text("model"));
    }

    [Fact]
    public async Task Parameters_AreTranslated_TemperatureClampedAndUnsupportedHintsLeftOut()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Text);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request(workspace, marker);
        body["temperature"] = 1.7;
        body["top_p"] = 0.9;
        body["max_tokens"] = 77;
        body["stop"] = new JsonArray("END", "STOP");
        body["user"] = "user-42";
        body["seed"] = 7;
        body["presence_penalty"] = 0.5;
        body["frequency_penalty"] = 0.5;
        body["logit_bias"] = new JsonObject { ["50256"] = -100 };
        body["top_k"] = 40;

        using var response = await ChatApi.PostAsync(http, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var expected = JsonNode.Parse($$$"""
            {
              "model":"{{{Models.Text}}}",
              "messages":[{"role":"user","content":[{"type":"text","text":"{{{marker}}}"}]}],
              "max_tokens":77,"temperature":1,"top_p":0.9,"stop_sequences":["END","STOP"],
              "metadata":{"user_id":"user-42"},"top_k":40
            }
            """);
        var upstream = Anthropic.RequestWith(marker);
        Assert.True(JsonNode.DeepEquals(expected, upstream.Json), upstream.Body);
    }

    [Theory]
    [InlineData("\"auto\"", null, """{"type":"auto"}""")]
    [InlineData("\"required\"", null, """{"type":"any"}""")]
    [InlineData("\"none\"", null, """{"type":"none"}""")]
    [InlineData("""{"type":"function","function":{"name":"lookup_city"}}""", null, """{"type":"tool","name":"lookup_city"}""")]
    [InlineData("\"auto\"", false, """{"type":"auto","disable_parallel_tool_use":true}""")]
    [InlineData(null, false, """{"type":"auto","disable_parallel_tool_use":true}""")]
    [InlineData(null, null, null)]
    public async Task ToolChoice_IsTranslated(string? toolChoice, bool? parallelToolCalls, string? expected)
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Text);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request(workspace, marker);
        body["tools"] = JsonNode.Parse($$$"""[{"type":"function","function":{"name":"{{{CityTool}}}","parameters":{{{CitySchema}}}}}]""");
        if (toolChoice is not null)
        {
            body["tool_choice"] = JsonNode.Parse(toolChoice);
        }

        if (parallelToolCalls is { } parallel)
        {
            body["parallel_tool_calls"] = parallel;
        }

        using var response = await ChatApi.PostAsync(http, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var upstream = Anthropic.RequestWith(marker).Json;
        Assert.True(JsonNode.DeepEquals(expected is null ? null : JsonNode.Parse(expected), upstream["tool_choice"]), upstream["tool_choice"]?.ToJsonString());
    }

    [Fact]
    public async Task Images_BecomeBase64AndUrlSources()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Text);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request(workspace, marker);
        body["messages"] = JsonNode.Parse($$$"""
            [{"role":"user","content":[
              {"type":"text","text":"{{{marker}}}"},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}},
              {"type":"image_url","image_url":{"url":"https://example.test/cat.jpg"}}
            ]}]
            """);

        using var response = await ChatApi.PostAsync(http, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var expected = JsonNode.Parse($$$"""
            [{"role":"user","content":[
              {"type":"text","text":"{{{marker}}}"},
              {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
              {"type":"image","source":{"type":"url","url":"https://example.test/cat.jpg"}}
            ]}]
            """);
        var upstream = Anthropic.RequestWith(marker).Json;
        Assert.True(JsonNode.DeepEquals(expected, upstream["messages"]), upstream["messages"]!.ToJsonString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnthropicRejects_Returns400WithItsMessage(bool stream)
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.TooLong);
        using var http = gateway.Http(key);

        using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace, ChatApi.NewMarker(), stream));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal(FakeAnthropicServer.TooLongMessage, error.Text("message"));
        Assert.Equal("invalid_request_error", error.Text("type"));
    }

    [Fact]
    public async Task Sdk_AnthropicRejects_SurfacesAsClientResultException()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.TooLong);

        var ex = await Assert.ThrowsAsync<ClientResultException>(() => gateway.Sdk(key).GetChatClient(workspace).CompleteChatAsync(new UserChatMessage(ChatApi.NewMarker())));

        Assert.Equal(400, ex.Status);
        Assert.Contains(FakeAnthropicServer.TooLongMessage, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnthropicOverloaded529_Returns502(bool stream)
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Overloaded);
        using var http = gateway.Http(key);

        using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace, ChatApi.NewMarker(), stream));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("upstream_error", error.Text("code"));
        Assert.Contains("529", error.Text("message"), StringComparison.Ordinal);
        Assert.Contains("Overloaded", error.Text("message"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownModel_Returns404WithAnthropicsMessage()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync("claude-does-not-exist");
        using var http = gateway.Http(key);

        using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace, ChatApi.NewMarker()));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("model: claude-does-not-exist", error.Text("message"));
        Assert.Equal("not_found_error", error.Text("type"));
    }

    [Fact]
    public async Task ErrorEventMidStream_EndsWithSseErrorEvent()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.StreamError);
        using var http = gateway.Http(key);

        using var response = await ChatApi.SendStreamingAsync(http, ChatApi.Request(workspace, ChatApi.NewMarker(), stream: true));
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("[DONE]", events);
        var content = string.Concat(events.SkipLast(1).Select(e => JsonNode.Parse(e)!["choices"]![0]!["delta"]?.Text("content")));
        Assert.Equal(string.Concat(FakeAnthropicServer.TextPieces.Take(2)), content);
        var error = JsonNode.Parse(events[^1])!["error"]!;
        Assert.Equal("Overloaded", error.Text("message"));
        Assert.Equal("upstream_error", error.Text("code"));
    }

    [Fact]
    public async Task StreamEndingWithoutMessageStop_EndsWithSseErrorEvent_NotDone()
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.StreamCut);
        using var http = gateway.Http(key);

        using var response = await ChatApi.SendStreamingAsync(http, ChatApi.Request(workspace, ChatApi.NewMarker(), stream: true));
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        Assert.DoesNotContain("[DONE]", events);
        var error = JsonNode.Parse(events[^1])!["error"]!;
        Assert.Equal("upstream_error", error.Text("code"));
        Assert.Contains("ended before the answer was complete", error.Text("message"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("n", "2", "n")]
    [InlineData("response_format", """{"type":"json_object"}""", "response_format")]
    [InlineData("logprobs", "true", "logprobs")]
    public async Task UnsupportedByAnthropic_Returns400_WithoutCallingAnthropic(string field, string value, string param)
    {
        var (workspace, key) = await gateway.WorkspaceWithCallerAsync(Models.Text);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request(workspace, marker);
        body[field] = JsonNode.Parse(value);

        using var response = await ChatApi.PostAsync(http, body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal(param, error.Text("param"));
        Assert.Contains("not supported by Anthropic", error.Text("message"), StringComparison.Ordinal);
        Assert.DoesNotContain(Anthropic.Requests, r => r.Body.Contains(marker, StringComparison.Ordinal));
    }

    private static ChatCompletionOptions ToolOptions(bool required = true)
    {
        var options = new ChatCompletionOptions
        {
            Tools = { ChatTool.CreateFunctionTool(CityTool, "Looks up a city.", BinaryData.FromString(CitySchema)) },
        };
        if (required)
        {
            options.ToolChoice = ChatToolChoice.CreateRequiredChoice();
            options.AllowParallelToolCalls = false;
        }

        return options;
    }

    /// <summary>Content, reasoning and finish reason of an answer, streamed (deltas joined) or not.</summary>
    private static async Task<(string Content, string? Reasoning, string? FinishReason)> AnswerAsync(HttpClient http, JsonObject body)
    {
        if (body["stream"] is null)
        {
            using var response = await ChatApi.PostAsync(http, body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var choice = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!;
            return (choice["message"].Text("content") ?? "", choice["message"].Text("reasoning_content"), choice.Text("finish_reason"));
        }

        using var streamed = await ChatApi.SendStreamingAsync(http, body);
        Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
        var events = ChatApi.SseData(await streamed.Content.ReadAsStringAsync());
        Assert.Equal("[DONE]", events[^1]);
        var choices = events.SkipLast(1).Select(e => JsonNode.Parse(e)!["choices"]![0]!).ToList();
        var reasoning = string.Concat(choices.Select(c => c["delta"].Text("reasoning_content")));
        return (string.Concat(choices.Select(c => c["delta"].Text("content"))), reasoning.Length == 0 ? null : reasoning,
            choices.Select(c => c.Text("finish_reason")).LastOrDefault(f => f is not null));
    }
}
