using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Rampart.Tests.Infrastructure;

/// <summary>
/// A real HTTP server on loopback that speaks Anthropic's Messages API (<c>POST /v1/messages</c>, API version
/// 2023-06-01) as its public reference describes it, including the request checks the real API makes: the
/// <c>x-api-key</c> and <c>anthropic-version</c> headers, <c>max_tokens</c>, only user/assistant roles, temperature
/// 0-1, no unknown fields, non-empty text, every <c>tool_use</c> answered by a <c>tool_result</c> in the next turn.
/// The <c>model</c> picks the answer (see <see cref="Models"/>); every request is recorded. Streams are
/// <c>event:</c>/<c>data:</c> pairs written in pieces of 1-7 bytes with a flush after each.
/// </summary>
public sealed class FakeAnthropicServer : IAsyncDisposable
{
    public static class Models
    {
        /// <summary>Text in <see cref="TextPieces"/>, <c>end_turn</c>, usage with cache reads and writes.</summary>
        public const string Text = "claude-fake-text";

        /// <summary>A text preamble, then two <c>tool_use</c> blocks (the request's first tool, or <c>get_weather</c>), <c>stop_reason: tool_use</c>.</summary>
        public const string Tool = "claude-fake-tool";

        /// <summary>A thinking block (with signature), then text.</summary>
        public const string Thinking = "claude-fake-thinking";

        /// <summary>Text cut off by <c>max_tokens</c>.</summary>
        public const string MaxTokens = "claude-fake-max-tokens";

        /// <summary>An empty answer with <c>stop_reason: refusal</c>.</summary>
        public const string Refusal = "claude-fake-refusal";

        /// <summary>HTTP 529 <c>overloaded_error</c>.</summary>
        public const string Overloaded = "claude-fake-overloaded";

        /// <summary>HTTP 400 <c>invalid_request_error</c>: the prompt is too long.</summary>
        public const string TooLong = "claude-fake-too-long";

        /// <summary>Streams a little text, then an <c>error</c> event (<c>overloaded_error</c>) mid-stream.</summary>
        public const string StreamError = "claude-fake-stream-error";

        /// <summary>Streams a little text, then closes the connection cleanly without <c>message_stop</c>.</summary>
        public const string StreamCut = "claude-fake-stream-cut";
    }

    /// <summary>The text answer's pieces: ASCII, accents, an emoji (4 UTF-8 bytes) and a CJK character.</summary>
    public static readonly string[] TextPieces = ["Bonjour", " from", " the", " fake", " Claude", " 🌍", " — ", "完"];

    public static readonly string[] ThinkingPieces = ["The user", " greets me;", " I should", " greet back."];

    public static readonly string[] ThinkingAnswerPieces = ["Hello", " there", "!"];

    public static readonly string[] MaxTokensPieces = ["This answer", " is cut", " short"];

    public const string ToolPreamble = "Let me check.";

    public const string DefaultToolName = "get_weather";

    /// <summary>The inputs of the two tool calls the <see cref="Models.Tool"/> answer makes.</summary>
    public static readonly string[] ToolInputs = ["""{"city": "Paris", "days": 3}""", """{"city": "Tōkyō", "days": 1}"""];

    public const string TooLongMessage = "prompt is too long: 212345 tokens > 200000 maximum";

    public const int InputTokens = 21;
    public const int CacheReadTokens = 5;
    public const int CacheCreationTokens = 2;

    private static readonly HashSet<string> TopLevelFields =
    [
        "model", "messages", "max_tokens", "system", "temperature", "top_p", "top_k", "stop_sequences", "stream", "tools",
        "tool_choice", "metadata", "thinking", "service_tier", "container", "mcp_servers", "context_management",
    ];

    private readonly WebApplication _app;
    private readonly string? _apiKey;
    private readonly ConcurrentQueue<AnthropicRecordedRequest> _requests = new();

    private FakeAnthropicServer(WebApplication app, string? apiKey)
    {
        _app = app;
        _apiKey = apiKey;
    }

    /// <summary>The base URL as <c>ANTHROPIC_BASE_URL</c> takes it: without <c>/v1</c>.</summary>
    public string BaseUrl { get; private set; } = "";

    public IReadOnlyCollection<AnthropicRecordedRequest> Requests => _requests;

    /// <summary>Starts the server; when <paramref name="apiKey"/> is given, any other <c>x-api-key</c> is refused.</summary>
    public static async Task<FakeAnthropicServer> StartAsync(string? apiKey = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeAnthropicServer(app, apiKey);
        app.MapPost("/v1/messages", server.HandleAsync);
        await app.StartAsync();
        server.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return server;
    }

    /// <summary>The one recorded request whose body contains <paramref name="marker"/>.</summary>
    public AnthropicRecordedRequest RequestWith(string marker) => Assert.Single(_requests, r => r.Body.Contains(marker, StringComparison.Ordinal));

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task HandleAsync(HttpContext http)
    {
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        JsonObject? body = null;
        try
        {
            body = JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException)
        {
            // Refused below, as the API does.
        }

        var apiKey = http.Request.Headers["x-api-key"].ToString();
        var version = http.Request.Headers["anthropic-version"].ToString();
        _requests.Enqueue(new AnthropicRecordedRequest(apiKey, version, http.Request.ContentType, text, body ?? []));

        if (apiKey.Length == 0)
        {
            await WriteErrorAsync(http, 401, "authentication_error", "x-api-key header is required");
            return;
        }

        if (_apiKey is not null && apiKey != _apiKey)
        {
            await WriteErrorAsync(http, 401, "authentication_error", "invalid x-api-key");
            return;
        }

        if (version.Length == 0)
        {
            await WriteErrorAsync(http, 400, "invalid_request_error", "anthropic-version: header is required");
            return;
        }

        if (body is null)
        {
            await WriteErrorAsync(http, 400, "invalid_request_error", "There was an error parsing the body of your request.");
            return;
        }

        if (Validate(body) is { } invalid)
        {
            await WriteErrorAsync(http, 400, "invalid_request_error", invalid);
            return;
        }

        var model = body["model"]!.GetValue<string>();
        switch (model)
        {
            case Models.Overloaded:
                await WriteErrorAsync(http, 529, "overloaded_error", "Overloaded");
                return;
            case Models.TooLong:
                await WriteErrorAsync(http, 400, "invalid_request_error", TooLongMessage);
                return;
        }

        if (Script(model, body) is not { } script)
        {
            await WriteErrorAsync(http, 404, "not_found_error", $"model: {model}");
            return;
        }

        if (body["stream"]?.GetValue<bool>() != true)
        {
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(Message(model, script).ToJsonString());
            return;
        }

        http.Response.ContentType = "text/event-stream; charset=utf-8";
        http.Response.Headers.CacheControl = "no-cache";
        await http.Response.StartAsync();
        var random = new Random(text.Length);
        foreach (var (name, data) in Events(model, script))
        {
            await WriteSplitAsync(http, $"event: {name}\ndata: {data.ToJsonString()}\n\n", random);
        }
    }

    /// <summary>The checks the real API makes, with its wording; null when the request is acceptable.</summary>
    private static string? Validate(JsonObject body)
    {
        if (body.Select(p => p.Key).FirstOrDefault(k => !TopLevelFields.Contains(k)) is { } extra)
        {
            return $"{extra}: Extra inputs are not permitted";
        }

        if (body["model"] is not JsonValue)
        {
            return "model: Field required";
        }

        if (body["max_tokens"] is not JsonValue maxTokens)
        {
            return "max_tokens: Field required";
        }

        if (maxTokens.GetValue<int>() < 1)
        {
            return "max_tokens: Input should be greater than or equal to 1";
        }

        if (body["temperature"] is JsonValue temperature && temperature.GetValue<double>() is < 0 or > 1)
        {
            return temperature.GetValue<double>() > 1 ? "temperature: Input should be less than or equal to 1" : "temperature: Input should be greater than or equal to 0";
        }

        if (body["system"] is not (null or JsonArray) && body["system"]!.GetValueKind() != JsonValueKind.String)
        {
            return "system: Input should be a valid string";
        }

        if (body["tools"] is JsonArray tools)
        {
            for (var i = 0; i < tools.Count; i++)
            {
                if (tools[i]?["name"] is null)
                {
                    return $"tools.{i}.custom.name: Field required";
                }

                if (tools[i]?["input_schema"] is not JsonObject)
                {
                    return $"tools.{i}.custom.input_schema: Field required";
                }
            }
        }

        if (body["messages"] is not JsonArray messages)
        {
            return "messages: Field required";
        }

        if (messages.Count == 0)
        {
            return "messages: at least one message is required";
        }

        var previousToolUses = new HashSet<string>();
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i]!;
            var role = message["role"]?.GetValue<string>();
            if (role == "system")
            {
                return "messages: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.";
            }

            if (role is not ("user" or "assistant"))
            {
                return $"messages.{i}.role: Input should be 'user' or 'assistant'";
            }

            var blocks = message["content"] switch
            {
                JsonArray array => [.. array.Select(b => b!.AsObject())],
                JsonValue value when value.GetValueKind() == JsonValueKind.String => [new JsonObject { ["type"] = "text", ["text"] = value.GetValue<string>() }],
                _ => (List<JsonObject>?)null,
            };
            if (blocks is null)
            {
                return $"messages.{i}.content: Input should be a valid list";
            }

            var isFinalAssistant = role == "assistant" && i == messages.Count - 1;
            if (blocks.Count == 0 && !isFinalAssistant)
            {
                return $"messages.{i}: all messages must have non-empty content except for the optional final assistant message";
            }

            var toolUses = new HashSet<string>();
            var answered = new HashSet<string>();
            for (var j = 0; j < blocks.Count; j++)
            {
                var block = blocks[j];
                switch (block["type"]?.GetValue<string>())
                {
                    case "text":
                        if (string.IsNullOrEmpty(block["text"]?.GetValue<string>()))
                        {
                            return "messages: text content blocks must be non-empty";
                        }

                        break;
                    case "image" or "document":
                        if (role != "user" || block["source"]?["type"]?.GetValue<string>() is not ("base64" or "url"))
                        {
                            return $"messages.{i}.content.{j}.{block["type"]}.source: Input tag does not match any of the expected tags: 'base64', 'url'";
                        }

                        break;
                    case "tool_use":
                        if (role != "assistant")
                        {
                            return $"messages.{i}.content.{j}: tool_use blocks can only appear in assistant messages";
                        }

                        if (block["input"] is not JsonObject)
                        {
                            return $"messages.{i}.content.{j}.tool_use.input: Input should be a valid dictionary";
                        }

                        toolUses.Add(block["id"]!.GetValue<string>());
                        break;
                    case "tool_result":
                        var id = block["tool_use_id"]?.GetValue<string>() ?? "";
                        if (role != "user" || !previousToolUses.Contains(id))
                        {
                            return $"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.";
                        }

                        answered.Add(id);
                        break;
                    case var other:
                        return $"messages.{i}.content.{j}: Input tag '{other}' found using 'type' does not match any of the expected tags";
                }
            }

            if (previousToolUses.Except(answered).FirstOrDefault() is { } unanswered)
            {
                return $"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {unanswered}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.";
            }

            previousToolUses = toolUses;
        }

        return previousToolUses.Count > 0
            ? $"messages.{messages.Count - 1}: `tool_use` ids were found without `tool_result` blocks immediately after: {previousToolUses.First()}. Each `tool_use` block must have a corresponding `tool_result` block in the next message."
            : null;
    }

    /// <summary>An answer as content blocks, each with the pieces it streams in, plus its stop reason.</summary>
    private sealed record AnswerScript(IReadOnlyList<ScriptBlock> Blocks, string StopReason, int OutputTokens);

    private sealed record ScriptBlock(string Type, IReadOnlyList<string> Pieces, string? ToolId = null, string? ToolName = null);

    private static AnswerScript? Script(string model, JsonObject body)
    {
        var toolName = body["tools"]?.AsArray().FirstOrDefault()?["name"]?.GetValue<string>() ?? DefaultToolName;
        return model switch
        {
            Models.Text => new([new("text", TextPieces)], "end_turn", TextPieces.Length),
            Models.Thinking => new([new("thinking", ThinkingPieces), new("text", ThinkingAnswerPieces)], "end_turn", ThinkingPieces.Length + ThinkingAnswerPieces.Length),
            Models.MaxTokens => new([new("text", MaxTokensPieces)], "max_tokens", body["max_tokens"]!.GetValue<int>()),
            Models.Refusal => new([], "refusal", 0),
            Models.Tool => new(
                [
                    new("text", [ToolPreamble]),
                    new("tool_use", Split(ToolInputs[0], 5), "toolu_01FakePARIS", toolName),
                    new("tool_use", Split(ToolInputs[1], 4), "toolu_02FakeTOKYO", toolName),
                ],
                "tool_use",
                30),
            Models.StreamError or Models.StreamCut => new([new("text", TextPieces)], "end_turn", TextPieces.Length),
            _ => null,
        };
    }

    private static JsonObject Message(string model, AnswerScript script) => new()
    {
        ["id"] = "msg_01FakeAnthropicAnswer",
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = model,
        ["content"] = new JsonArray([.. script.Blocks.Select(b => (JsonNode)FinalBlock(b))]),
        ["stop_reason"] = script.StopReason,
        ["stop_sequence"] = null,
        ["usage"] = Usage(script.OutputTokens),
    };

    private static JsonObject FinalBlock(ScriptBlock block) => block.Type switch
    {
        "text" => new JsonObject { ["type"] = "text", ["text"] = string.Concat(block.Pieces) },
        "thinking" => new JsonObject { ["type"] = "thinking", ["thinking"] = string.Concat(block.Pieces), ["signature"] = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds" },
        _ => new JsonObject { ["type"] = "tool_use", ["id"] = block.ToolId, ["name"] = block.ToolName, ["input"] = JsonNode.Parse(string.Concat(block.Pieces)) },
    };

    private static JsonObject Usage(int outputTokens) => new()
    {
        ["input_tokens"] = InputTokens,
        ["cache_creation_input_tokens"] = CacheCreationTokens,
        ["cache_read_input_tokens"] = CacheReadTokens,
        ["output_tokens"] = outputTokens,
        ["service_tier"] = "standard",
    };

    /// <summary>The stream as the API sends it: message_start, ping, per block start/deltas/stop, message_delta, message_stop.</summary>
    private static IEnumerable<(string Name, JsonObject Data)> Events(string model, AnswerScript script)
    {
        var start = Message(model, script);
        start["content"] = new JsonArray();
        start["stop_reason"] = null;
        start["usage"] = Usage(1);
        yield return ("message_start", new JsonObject { ["type"] = "message_start", ["message"] = start });
        yield return ("ping", new JsonObject { ["type"] = "ping" });

        for (var index = 0; index < script.Blocks.Count; index++)
        {
            var block = script.Blocks[index];
            var (startBlock, deltaType, deltaField) = block.Type switch
            {
                "text" => (new JsonObject { ["type"] = "text", ["text"] = "" }, "text_delta", "text"),
                "thinking" => (new JsonObject { ["type"] = "thinking", ["thinking"] = "" }, "thinking_delta", "thinking"),
                _ => (new JsonObject { ["type"] = "tool_use", ["id"] = block.ToolId, ["name"] = block.ToolName, ["input"] = new JsonObject() }, "input_json_delta", "partial_json"),
            };
            yield return ("content_block_start", new JsonObject { ["type"] = "content_block_start", ["index"] = index, ["content_block"] = startBlock });

            // The API opens tool input with an empty partial_json.
            var pieces = block.Type == "tool_use" ? ["", .. block.Pieces] : block.Pieces;
            for (var p = 0; p < pieces.Count; p++)
            {
                if (model == Models.StreamError && p == 2)
                {
                    yield return ("error", new JsonObject { ["type"] = "error", ["error"] = new JsonObject { ["type"] = "overloaded_error", ["message"] = "Overloaded" } });
                    yield break;
                }

                if (model == Models.StreamCut && p == 2)
                {
                    yield break;
                }

                yield return ("content_block_delta", new JsonObject
                {
                    ["type"] = "content_block_delta",
                    ["index"] = index,
                    ["delta"] = new JsonObject { ["type"] = deltaType, [deltaField] = pieces[p] },
                });
            }

            if (block.Type == "thinking")
            {
                yield return ("content_block_delta", new JsonObject
                {
                    ["type"] = "content_block_delta",
                    ["index"] = index,
                    ["delta"] = new JsonObject { ["type"] = "signature_delta", ["signature"] = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds" },
                });
            }

            yield return ("content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = index });
        }

        yield return ("message_delta", new JsonObject
        {
            ["type"] = "message_delta",
            ["delta"] = new JsonObject { ["stop_reason"] = script.StopReason, ["stop_sequence"] = null },
            ["usage"] = new JsonObject { ["output_tokens"] = script.OutputTokens },
        });
        yield return ("message_stop", new JsonObject { ["type"] = "message_stop" });
    }

    private static List<string> Split(string text, int size) =>
        [.. Enumerable.Range(0, (text.Length + size - 1) / size).Select(i => text.Substring(i * size, Math.Min(size, text.Length - (i * size))))];

    private static async Task WriteSplitAsync(HttpContext http, string text, Random random)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        for (var offset = 0; offset < bytes.Length;)
        {
            var size = Math.Min(random.Next(1, 8), bytes.Length - offset);
            await http.Response.Body.WriteAsync(bytes.AsMemory(offset, size));
            await http.Response.Body.FlushAsync();
            offset += size;
        }
    }

    private static async Task WriteErrorAsync(HttpContext http, int status, string type, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(new JsonObject
        {
            ["type"] = "error",
            ["error"] = new JsonObject { ["type"] = type, ["message"] = message },
            ["request_id"] = "req_011FakeAnthropicRequest",
        }.ToJsonString());
    }
}

/// <summary>What the fake Anthropic API received: its two headers, content type and the body (raw and parsed).</summary>
public sealed record AnthropicRecordedRequest(string ApiKey, string Version, string? ContentType, string Body, JsonObject Json)
{
    public JsonArray Messages => Json["messages"]!.AsArray();
}
