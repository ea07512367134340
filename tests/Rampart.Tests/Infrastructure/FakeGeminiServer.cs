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
/// A real HTTP server on loopback speaking Gemini's native API (v1beta <c>models/{model}:generateContent</c> and
/// <c>:streamGenerateContent?alt=sse</c>) as its public reference describes it, including the validation the real
/// API does: the API key, roles other than <c>user</c>/<c>model</c>, unknown fields, empty parts, schema keywords
/// outside its OpenAPI subset, function responses that do not answer the preceding function calls. The model name
/// picks the scenario (see <see cref="Models"/>); every request is recorded. Streams are written as Google does
/// (<c>data: …\r\n\r\n</c>) in pieces of 1-7 bytes with a flush after each.
/// </summary>
public sealed class FakeGeminiServer : IAsyncDisposable
{
    public static class Models
    {
        /// <summary>Answers <see cref="TextPieces"/> (one candidate per <c>candidateCount</c>), STOP.</summary>
        public const string Text = "gemini-text";

        /// <summary>Calls the first declared function with <see cref="FunctionArgs"/> (and a thought signature); answers a function response with text quoting it.</summary>
        public const string Function = "gemini-function";

        /// <summary>Calls two functions at once: <c>get_weather</c> and <c>get_time</c>, each in its own stream event.</summary>
        public const string Parallel = "gemini-parallel";

        /// <summary>Refuses the prompt: <c>promptFeedback.blockReason</c> SAFETY and no candidates.</summary>
        public const string Blocked = "gemini-blocked";

        /// <summary>Starts answering, then stops with finishReason SAFETY.</summary>
        public const string Safety = "gemini-safety";

        public const string MaxTokens = "gemini-max-tokens";

        /// <summary>Starts answering, then ends with finishReason MALFORMED_FUNCTION_CALL and a finishMessage.</summary>
        public const string Malformed = "gemini-malformed";

        /// <summary>Thinks (a <c>thought: true</c> part), then answers; usage counts thoughts.</summary>
        public const string Thinking = "gemini-thinking";

        /// <summary>Streams two text events and ends the body without a finish reason.</summary>
        public const string Truncated = "gemini-truncated";

        /// <summary>503 UNAVAILABLE, the model is overloaded.</summary>
        public const string Unavailable = "gemini-503";

        /// <summary>Answers as Gemini does to a key that is no longer valid: 400 INVALID_ARGUMENT, API_KEY_INVALID.</summary>
        public const string RevokedKey = "gemini-revoked-key";
    }

    public static readonly string[] TextPieces = ["Grüße", " aus", " Gemini", " 🌍 — ", "完"];

    public const string ThoughtText = "Considering the question carefully.";

    /// <summary>The opaque signature Gemini attaches to a function call of a thinking model.</summary>
    public const string ThoughtSignature = "CiQBVKhc7sig/fake+signature==";

    public const string MalformedMessage = "Malformed function call: print(default_api.get_weather(city='Paris'";

    /// <summary>Arguments with nesting, numbers, an array and non-ASCII text: all must arrive intact.</summary>
    public static JsonObject FunctionArgs(string note) => new()
    {
        ["city"] = "Zürich",
        ["days"] = 3,
        ["options"] = new JsonObject { ["units"] = "metric", ["tags"] = new JsonArray("a", "b") },
        ["note"] = note,
    };

    private static readonly HashSet<string> RequestFields = ["contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings", "cachedContent"];
    private static readonly HashSet<string> PartData = ["text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult"];
    private static readonly HashSet<string> PartFields = [.. PartData, "thought", "thoughtSignature", "videoMetadata"];
    private static readonly HashSet<string> GenerationFields =
    [
        "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities", "candidateCount", "maxOutputTokens",
        "temperature", "topP", "topK", "seed", "presencePenalty", "frequencyPenalty", "responseLogprobs", "logprobs", "thinkingConfig",
    ];

    private static readonly HashSet<string> SchemaFields =
    [
        "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties", "required", "minProperties",
        "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum",
    ];

    private readonly WebApplication _app;
    private readonly string _apiKey;
    private readonly ConcurrentQueue<GeminiRecordedRequest> _requests = new();

    private FakeGeminiServer(WebApplication app, string apiKey)
    {
        _app = app;
        _apiKey = apiKey;
    }

    public string BaseUrl { get; private set; } = "";

    public IReadOnlyCollection<GeminiRecordedRequest> Requests => _requests;

    public static async Task<FakeGeminiServer> StartAsync(string apiKey)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeGeminiServer(app, apiKey);
        app.MapPost("/v1beta/models/{target}", server.HandleAsync);
        await app.StartAsync();
        server.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return server;
    }

    /// <summary>The one recorded request whose body contains <paramref name="marker"/>.</summary>
    public GeminiRecordedRequest RequestWith(string marker) => Assert.Single(_requests, r => r.Body.Contains(marker, StringComparison.Ordinal));

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task HandleAsync(HttpContext http, string target)
    {
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        var colon = target.LastIndexOf(':');
        var (model, method) = colon < 0 ? (target, "") : (target[..colon], target[(colon + 1)..]);
        var key = http.Request.Headers["x-goog-api-key"].ToString() is { Length: > 0 } header ? header : http.Request.Query["key"].ToString();
        var stream = method == "streamGenerateContent";

        JsonObject? body = null;
        try
        {
            body = JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException)
        {
            // Answered below, as Gemini does.
        }

        _requests.Enqueue(new GeminiRecordedRequest(model, method, http.Request.QueryString.Value ?? "", key, http.Request.ContentType, text, body ?? []));

        if (key.Length == 0)
        {
            await WriteErrorAsync(http, 403, "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
            return;
        }

        if (key != _apiKey || model == Models.RevokedKey)
        {
            await WriteErrorAsync(http, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", reason: "API_KEY_INVALID");
            return;
        }

        if (method is not ("generateContent" or "streamGenerateContent") || (stream && http.Request.Query["alt"] != "sse"))
        {
            // Without alt=sse Google streams one JSON array, which this fake (like the gateway) does not speak.
            await WriteErrorAsync(http, 404, "NOT_FOUND", $"The requested method '{method}' with alt '{http.Request.Query["alt"]}' is not served by this fake.");
            return;
        }

        if (body is null)
        {
            await WriteErrorAsync(http, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token.");
            return;
        }

        if (Validate(body) is { } invalid)
        {
            await WriteErrorAsync(http, 400, "INVALID_ARGUMENT", invalid);
            return;
        }

        if (model == Models.Unavailable)
        {
            await WriteErrorAsync(http, 503, "UNAVAILABLE", "The model is overloaded. Please try again later.");
            return;
        }

        var events = Script(model, body);
        if (!stream)
        {
            http.Response.ContentType = "application/json; charset=UTF-8";
            await http.Response.WriteAsync(Merge(events).ToJsonString());
            return;
        }

        http.Response.ContentType = "text/event-stream";
        await http.Response.StartAsync();
        var random = new Random(text.Length);
        foreach (var e in events)
        {
            await WriteSplitAsync(http, "data: " + e.ToJsonString() + "\r\n\r\n", random);
        }
    }

    /// <summary>What the real API rejects with 400 INVALID_ARGUMENT, in its words; null when the request is acceptable.</summary>
    private static string? Validate(JsonObject body)
    {
        if (Unknown(body, RequestFields, "") is { } unknown)
        {
            return unknown;
        }

        if (body["contents"] is not JsonArray { Count: > 0 } contents)
        {
            return "* GenerateContentRequest.contents: contents is not specified\n";
        }

        if (body["systemInstruction"] is JsonObject system && system["parts"] is JsonArray systemParts
            && systemParts.Any(p => p is not JsonObject { Count: 1 } o || o["text"] is null))
        {
            return "* GenerateContentRequest.system_instruction.parts: only text should be provided\n";
        }

        string? previousRole = null;
        JsonArray? previousParts = null;
        for (var i = 0; i < contents.Count; i++)
        {
            var content = contents[i]!.AsObject();
            var role = content["role"]?.GetValue<string>() ?? "user";
            if (role is not ("user" or "model"))
            {
                return "Please use a valid role: user, model.";
            }

            if (content["parts"] is not JsonArray { Count: > 0 } parts)
            {
                return $"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.\n";
            }

            for (var j = 0; j < parts.Count; j++)
            {
                var part = parts[j]!.AsObject();
                if (Unknown(part, PartFields, $"contents[{i}].parts[{j}]") is { } bad)
                {
                    return bad;
                }

                if (part.Count(p => PartData.Contains(p.Key)) != 1)
                {
                    return $"* GenerateContentRequest.contents[{i}].parts[{j}].data: required oneof field 'data' must have one initialized field\n";
                }

                if (part["text"] is JsonValue t && t.GetValue<string>().Length == 0)
                {
                    return "Unable to submit request because it has an empty text parameter. Add a value to the parameter and try again.";
                }

                if (part["functionCall"] is JsonObject call && (call["name"] is null || call["args"] is not (null or JsonObject)))
                {
                    return $"* GenerateContentRequest.contents[{i}].parts[{j}].function_call: name is required and args must be an object\n";
                }

                if (part["functionResponse"] is JsonObject response && (response["name"] is null || response["response"] is not JsonObject))
                {
                    return $"* GenerateContentRequest.contents[{i}].parts[{j}].function_response: name is required and response must be an object\n";
                }
            }

            if (role == previousRole)
            {
                return "Please ensure that multiturn requests alternate between user and model.";
            }

            var calls = parts.Where(p => p!["functionCall"] is not null).Select(p => p!["functionCall"]!["name"]!.GetValue<string>()).ToList();
            var responses = parts.Where(p => p!["functionResponse"] is not null).Select(p => p!["functionResponse"]!["name"]!.GetValue<string>()).ToList();
            if (calls.Count > 0 && previousRole == "model")
            {
                return "Please ensure that function call turn comes immediately after a user turn or after a function response turn.";
            }

            if (responses.Count > 0)
            {
                var answered = previousParts?.Where(p => p!["functionCall"] is not null).Select(p => p!["functionCall"]!["name"]!.GetValue<string>()).ToList() ?? [];
                if (answered.Count == 0)
                {
                    return "Please ensure that function response turn comes immediately after a function call turn.";
                }

                if (answered.Count != responses.Count)
                {
                    return "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.";
                }

                if (!answered.Order(StringComparer.Ordinal).SequenceEqual(responses.Order(StringComparer.Ordinal)))
                {
                    return "Please ensure that the function response names match the function call names of the function call turn.";
                }
            }

            previousRole = role;
            previousParts = parts;
        }

        return ValidateTools(body) ?? ValidateGenerationConfig(body);
    }

    private static string? ValidateTools(JsonObject body)
    {
        var declared = new List<string>();
        if (body["tools"] is JsonArray tools)
        {
            for (var i = 0; i < tools.Count; i++)
            {
                var declarations = tools[i]!["functionDeclarations"]?.AsArray() ?? [];
                for (var j = 0; j < declarations.Count; j++)
                {
                    var declaration = declarations[j]!.AsObject();
                    var at = $"tools[{i}].function_declarations[{j}]";
                    if (Unknown(declaration, ["name", "description", "parameters", "parametersJsonSchema", "response", "behavior"], at) is { } unknown)
                    {
                        return unknown;
                    }

                    if (declaration["name"]?.GetValue<string>() is not { Length: > 0 } name)
                    {
                        return $"* GenerateContentRequest.{at}.name: Name cannot be empty.\n";
                    }

                    declared.Add(name);
                    if (declaration["parameters"] is not null && declaration["parametersJsonSchema"] is not null)
                    {
                        return $"* GenerateContentRequest.{at}: parameters and parameters_json_schema are mutually exclusive\n";
                    }

                    if (declaration["parameters"] is JsonObject parameters && ValidateSchema(parameters, $"{at}.parameters") is { } bad)
                    {
                        return bad;
                    }
                }
            }
        }

        if (body["toolConfig"]?["functionCallingConfig"] is JsonObject config)
        {
            var mode = config["mode"]?.GetValue<string>();
            if (mode is not ("AUTO" or "ANY" or "NONE" or "VALIDATED"))
            {
                return $"Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), \"{mode}\"";
            }

            if (config["allowedFunctionNames"] is JsonArray allowed)
            {
                if (mode != "ANY")
                {
                    return "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: allowed_function_names can only be set when mode is ANY\n";
                }

                if (allowed.Any(a => !declared.Contains(a!.GetValue<string>())))
                {
                    return "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: each name must be a declared function\n";
                }
            }
        }

        return null;
    }

    private static string? ValidateGenerationConfig(JsonObject body)
    {
        if (body["generationConfig"] is not JsonObject config)
        {
            return null;
        }

        if (Unknown(config, GenerationFields, "generation_config") is { } unknown)
        {
            return unknown;
        }

        if (config["responseSchema"] is JsonObject schema)
        {
            if (config["responseMimeType"]?.GetValue<string>() != "application/json")
            {
                return "* GenerateContentRequest.generation_config.response_mime_type: must be application/json when response_schema is set\n";
            }

            return ValidateSchema(schema, "generation_config.response_schema");
        }

        return null;
    }

    /// <summary>Gemini's Schema is an OpenAPI 3.0 subset: any other keyword is an unknown field, and an object needs properties.</summary>
    private static string? ValidateSchema(JsonObject schema, string at)
    {
        if (Unknown(schema, SchemaFields, at) is { } unknown)
        {
            return unknown;
        }

        if (schema["type"] is JsonValue type && type.GetValue<string>().Equals("object", StringComparison.OrdinalIgnoreCase)
            && schema["properties"] is not JsonObject { Count: > 0 } && schema["anyOf"] is null)
        {
            return $"* GenerateContentRequest.{at}.properties: should be non-empty for OBJECT type\n";
        }

        if (schema["type"] is JsonArray)
        {
            return $"Invalid JSON payload received. Proto field is not repeating, cannot start list. at '{at}.type'";
        }

        foreach (var (name, child) in (schema["properties"] as JsonObject) ?? [])
        {
            if (ValidateSchema(child!.AsObject(), $"{at}.properties[{name}].value") is { } bad)
            {
                return bad;
            }
        }

        return schema["items"] is JsonObject items ? ValidateSchema(items, $"{at}.items") : null;
    }

    private static string? Unknown(JsonObject json, HashSet<string> known, string at)
    {
        var name = json.Select(p => p.Key).FirstOrDefault(k => !known.Contains(k));
        return name is null
            ? null
            : $"Invalid JSON payload received. Unknown name \"{name}\"{(at.Length > 0 ? $" at '{at}'" : "")}: Cannot find field.";
    }

    /// <summary>The answer as the stream events Gemini would send; a non-streamed answer is their merge.</summary>
    private static List<JsonObject> Script(string model, JsonObject body)
    {
        var n = body["generationConfig"]?["candidateCount"]?.GetValue<int>() ?? 1;
        var contents = body["contents"]!.AsArray();
        var lastParts = contents[^1]!["parts"]!.AsArray();
        var lastText = string.Join("\n", lastParts.Select(p => p!["text"]?.GetValue<string>()).Where(t => t is not null));
        var usage = Usage(prompt: 12, candidates: 0);

        switch (model)
        {
            case Models.Blocked:
                return
                [
                    new JsonObject
                    {
                        ["promptFeedback"] = new JsonObject
                        {
                            ["blockReason"] = "SAFETY",
                            ["safetyRatings"] = new JsonArray(new JsonObject { ["category"] = "HARM_CATEGORY_DANGEROUS_CONTENT", ["probability"] = "HIGH" }),
                        },
                        ["usageMetadata"] = usage,
                        ["modelVersion"] = "gemini-2.0-flash",
                        ["responseId"] = "fakeBlocked",
                    },
                ];
            case Models.Function when lastParts.Any(p => p!["functionResponse"] is not null):
                var results = string.Join("; ", lastParts.Where(p => p!["functionResponse"] is not null)
                    .Select(p => $"{p!["functionResponse"]!["name"]}={p["functionResponse"]!["response"]!.ToJsonString()}"));
                return TextEvents(["Results: ", results], n, "STOP");
            case Models.Function:
                var name = body["tools"]?[0]?["functionDeclarations"]?[0]?["name"]?.GetValue<string>() ?? "get_weather";
                var call = Call(name, FunctionArgs(lastText));
                call["thoughtSignature"] = ThoughtSignature;
                return [Event(Candidate(0, [call], "STOP"), Usage(12, 9))];
            case Models.Parallel:
                return
                [
                    Event(Candidate(0, [Call("get_weather", new JsonObject { ["city"] = "Paris" })], null), null),
                    Event(Candidate(0, [Call("get_time", new JsonObject { ["zone"] = "Asia/Tokyo", ["format"] = "24h" })], null), null),
                    Event(Candidate(0, [], "STOP"), Usage(12, 14)),
                ];
            case Models.Safety:
                return TextEvents(["I can start,", " but"], n, "SAFETY");
            case Models.MaxTokens:
                return TextEvents(["This answer is cut", " short"], n, "MAX_TOKENS");
            case Models.Malformed:
                var malformed = Candidate(0, [], "MALFORMED_FUNCTION_CALL");
                malformed.Remove("content");
                malformed["finishMessage"] = MalformedMessage;
                return [Event(Candidate(0, [new JsonObject { ["text"] = "Let me check." }], null), null), Event(malformed, Usage(12, 3))];
            case Models.Thinking:
                return
                [
                    Event(Candidate(0, [new JsonObject { ["text"] = ThoughtText, ["thought"] = true }], null), null),
                    Event(Candidate(0, [new JsonObject { ["text"] = string.Concat(TextPieces) }], "STOP"), Usage(12, 5, thoughts: 20)),
                ];
            case Models.Truncated:
                return [.. TextEvents(TextPieces, 1, "STOP").Take(2)];
            default:
                return TextEvents(TextPieces, n, "STOP");
        }
    }

    /// <summary>One event per piece per candidate (interleaved), the finish reason and full usage on each candidate's last event.</summary>
    private static List<JsonObject> TextEvents(string[] pieces, int n, string finish)
    {
        var events = new List<JsonObject>();
        for (var p = 0; p < pieces.Length; p++)
        {
            for (var c = 0; c < n; c++)
            {
                var text = c == 0 ? pieces[p] : $"[{c}]{pieces[p]}";
                var last = p == pieces.Length - 1;
                var candidate = Candidate(c, [new JsonObject { ["text"] = text }], last ? finish : null);
                if (last && finish == "SAFETY")
                {
                    candidate["safetyRatings"] = new JsonArray(new JsonObject { ["category"] = "HARM_CATEGORY_HARASSMENT", ["probability"] = "HIGH", ["blocked"] = true });
                }

                events.Add(Event(candidate, last && c == n - 1 ? Usage(12, pieces.Length * n) : Usage(12, 0)));
            }
        }

        return events;
    }

    private static JsonObject Event(JsonObject candidate, JsonObject? usage)
    {
        var e = new JsonObject { ["candidates"] = new JsonArray(candidate) };
        if (usage is not null)
        {
            e["usageMetadata"] = usage;
        }

        e["modelVersion"] = "gemini-2.0-flash-001";
        e["responseId"] = "fakeResponse123";
        return e;
    }

    private static JsonObject Candidate(int index, JsonNode[] parts, string? finish)
    {
        var candidate = new JsonObject { ["content"] = new JsonObject { ["parts"] = new JsonArray(parts), ["role"] = "model" } };
        if (finish is not null)
        {
            candidate["finishReason"] = finish;
        }

        if (index > 0)
        {
            // Proto3 JSON leaves out default values: the first candidate comes without an index.
            candidate["index"] = index;
        }

        return candidate;
    }

    private static JsonObject Call(string name, JsonObject args) =>
        new() { ["functionCall"] = new JsonObject { ["name"] = name, ["args"] = args } };

    private static JsonObject Usage(int prompt, int candidates, int thoughts = 0)
    {
        var usage = new JsonObject { ["promptTokenCount"] = prompt };
        if (candidates > 0)
        {
            usage["candidatesTokenCount"] = candidates;
        }

        if (thoughts > 0)
        {
            usage["thoughtsTokenCount"] = thoughts;
        }

        usage["totalTokenCount"] = prompt + candidates + thoughts;
        usage["promptTokensDetails"] = new JsonArray(new JsonObject { ["modality"] = "TEXT", ["tokenCount"] = prompt });
        return usage;
    }

    /// <summary>A non-streamed answer: each candidate's parts concatenated (adjacent text joined), its finish reason, the last usage.</summary>
    private static JsonObject Merge(List<JsonObject> events)
    {
        var merged = new JsonObject();
        var candidates = new SortedDictionary<int, JsonObject>();
        foreach (var e in events)
        {
            foreach (var (key, value) in e)
            {
                if (key != "candidates")
                {
                    merged[key] = value!.DeepClone();
                }
            }

            foreach (var c in e["candidates"]?.AsArray() ?? [])
            {
                var index = c!["index"]?.GetValue<int>() ?? 0;
                if (!candidates.TryGetValue(index, out var target))
                {
                    candidates[index] = target = (JsonObject)c.DeepClone();
                    continue;
                }

                foreach (var part in c["content"]?["parts"]?.AsArray() ?? [])
                {
                    var parts = target["content"]!["parts"]!.AsArray();
                    if (part!["text"] is not null && part["thought"] is null && parts.Count > 0 && parts[^1]!["text"] is not null && parts[^1]!["thought"] is null)
                    {
                        parts[^1]!["text"] = parts[^1]!["text"]!.GetValue<string>() + part["text"]!.GetValue<string>();
                    }
                    else
                    {
                        parts.Add(part.DeepClone());
                    }
                }

                foreach (var (key, value) in c.AsObject().Where(p => p.Key != "content"))
                {
                    target[key] = value!.DeepClone();
                }

                if (c["content"] is null)
                {
                    target.Remove("content");
                }
            }
        }

        if (candidates.Count > 0)
        {
            merged["candidates"] = new JsonArray([.. candidates.Values]);
        }

        return merged;
    }

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

    /// <summary>Google's error envelope: <c>{"error":{"code","message","status","details"?}}</c>.</summary>
    private static async Task WriteErrorAsync(HttpContext http, int status, string grpcStatus, string message, string? reason = null)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=UTF-8";
        var error = new JsonObject { ["code"] = status, ["message"] = message, ["status"] = grpcStatus };
        if (reason is not null)
        {
            error["details"] = new JsonArray(new JsonObject
            {
                ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo",
                ["reason"] = reason,
                ["domain"] = "googleapis.com",
                ["metadata"] = new JsonObject { ["service"] = "generativelanguage.googleapis.com" },
            });
        }

        await http.Response.WriteAsync(new JsonObject { ["error"] = error }.ToJsonString());
    }
}

/// <summary>What the fake Gemini received: model and method from the path, the query, the API key, and the body.</summary>
public sealed record GeminiRecordedRequest(string Model, string Method, string Query, string ApiKey, string? ContentType, string Body, JsonObject Json)
{
    public JsonArray Contents => Json["contents"]!.AsArray();
}
