using System.Text.Json;
using System.Text.Json.Nodes;
using Rampart.OpenAI;

namespace Rampart.Providers.Gemini;

/// <summary>
/// An OpenAI chat request in Gemini's terms. What Gemini cannot express is refused with a 400 naming the field
/// rather than dropped silently; fields with no Gemini counterpart and no effect on the answer's content
/// (<c>user</c>, <c>parallel_tool_calls</c>, <c>logit_bias</c>, <c>logprobs</c>, unknown extras) are left out.
/// </summary>
internal static class GeminiRequestTranslator
{
    /// <summary>
    /// Errors name message fields without an index: the gateway may have put the workspace persona in front, so an
    /// index would not match the caller's own list. Tool calls are named by their id instead.
    /// </summary>
    private const string At = "messages[]";

    public static (GeminiRequest? Request, UpstreamError? Error) Translate(string provider, ChatCompletionRequest request)
    {
        try
        {
            return (new GeminiRequest
            {
                Contents = Contents(request.Messages ?? [], out var system),
                SystemInstruction = system.Count > 0 ? new GeminiContent { Parts = system } : null,
                Tools = Tools(request.Tools),
                ToolConfig = request.Tools is { Count: > 0 } ? ToolConfig(request.ToolChoice) : null,
                GenerationConfig = GenerationConfig(request),
            }, null);
        }
        catch (UntranslatableException ex)
        {
            return (null, new UpstreamError(UpstreamErrorKind.Rejected, provider, ex.Message, 400)
            {
                Type = "invalid_request_error",
                Param = ex.Param,
                Code = "invalid_value",
            });
        }
    }

    /// <summary>
    /// The conversation as alternating <c>user</c>/<c>model</c> turns. System and developer messages, wherever they
    /// stand, become <c>systemInstruction</c>; tool results become <c>functionResponse</c> parts of a user turn named
    /// after the call they answer; consecutive turns of one role are merged, as Gemini wants them alternating.
    /// </summary>
    private static List<GeminiContent> Contents(IReadOnlyList<ChatMessage> messages, out List<GeminiPart> system)
    {
        system = [];
        var contents = new List<GeminiContent>();
        var callNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var message in messages)
        {
            switch (message.Role)
            {
                case "system" or "developer":
                    system.AddRange(TextParts(message.Content));
                    break;
                case "user":
                    Append(contents, "user", UserParts(message.Content));
                    break;
                case "assistant":
                    Append(contents, "model", AssistantParts(message, callNames));
                    break;
                case "tool":
                    var name = callNames.GetValueOrDefault(message.ToolCallId!)
                        ?? throw new UntranslatableException(
                            $"A tool message answers tool_call_id '{Shorten(message.ToolCallId!)}', but no earlier assistant message made a tool call with that id; Gemini needs the function's name for each result.",
                            $"{At}.tool_call_id");
                    Append(contents, "user", [FunctionResponse(name, message.Content)]);
                    break;
                case "function":
                    Append(contents, "user", [FunctionResponse(message.Name!, message.Content)]);
                    break;
            }
        }

        return contents;
    }

    private static void Append(List<GeminiContent> contents, string role, List<GeminiPart> parts)
    {
        if (parts.Count == 0)
        {
            return;
        }

        if (contents.Count > 0 && contents[^1].Role == role)
        {
            contents[^1].Parts.AddRange(parts);
        }
        else
        {
            contents.Add(new GeminiContent { Role = role, Parts = parts });
        }
    }

    /// <summary>Text only: Gemini refuses a text part that is empty, so those are left out.</summary>
    private static List<GeminiPart> TextParts(MessageContent? content)
    {
        if (content is null)
        {
            return [];
        }

        var texts = content.Parts is { } parts ? parts.Select(p => p.Text ?? p.Refusal) : [content.Text];
        return [.. texts.Where(t => !string.IsNullOrEmpty(t)).Select(t => new GeminiPart { Text = t })];
    }

    private static List<GeminiPart> UserParts(MessageContent? content)
    {
        if (content?.Parts is not { } parts)
        {
            return TextParts(content);
        }

        var result = new List<GeminiPart>();
        foreach (var part in parts)
        {
            const string partAt = At + ".content[]";
            switch (part.Type)
            {
                case "text" when !string.IsNullOrEmpty(part.Text):
                    result.Add(new GeminiPart { Text = part.Text });
                    break;
                case "image_url":
                    result.Add(FromUrl(StringProperty(part.ImageUrl, "url") ?? throw Missing($"{partAt}.image_url.url"), $"{partAt}.image_url.url"));
                    break;
                case "input_audio":
                    var format = StringProperty(part.InputAudio, "format");
                    var audio = StringProperty(part.InputAudio, "data") ?? throw Missing($"{partAt}.input_audio.data");
                    result.Add(new GeminiPart { InlineData = new GeminiBlob(format is null ? "audio/wav" : "audio/" + format, audio) });
                    break;
                case "file":
                    var fileData = StringProperty(part.File, "file_data")
                        ?? throw new UntranslatableException(
                            $"'{partAt}.file' refers to OpenAI's Files API (file_id), which Gemini cannot read; send the file inline as 'file_data' (a data: URL).",
                            $"{partAt}.file");
                    result.Add(FromUrl(fileData, $"{partAt}.file.file_data"));
                    break;
            }
        }

        return result;
    }

    /// <summary><c>data:</c> URLs travel inline; http(s) URLs as <c>fileData</c>, which Gemini fetches itself.</summary>
    private static GeminiPart FromUrl(string url, string at)
    {
        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = url.IndexOf(',', StringComparison.Ordinal);
            var header = comma < 0 ? "" : url[5..comma];
            if (!header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                throw new UntranslatableException($"'{at}' must be a base64 data: URL (data:<mime type>;base64,<data>) or an http(s) URL.", at);
            }

            var mimeType = header[..^";base64".Length];
            return new GeminiPart { InlineData = new GeminiBlob(mimeType.Length > 0 ? mimeType : "application/octet-stream", url[(comma + 1)..]) };
        }

        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
        {
            return new GeminiPart { FileData = new GeminiFileData { FileUri = url, MimeType = MimeTypeOf(uri.AbsolutePath) } };
        }

        throw new UntranslatableException($"'{at}' must be a base64 data: URL or an http(s) URL.", at);
    }

    private static string? MimeTypeOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".png" => "image/png",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".webp" => "image/webp",
        ".gif" => "image/gif",
        ".heic" => "image/heic",
        ".pdf" => "application/pdf",
        ".mp3" => "audio/mp3",
        ".wav" => "audio/wav",
        ".mp4" => "video/mp4",
        _ => null,
    };

    private static List<GeminiPart> AssistantParts(ChatMessage message, Dictionary<string, string> callNames)
    {
        var parts = TextParts(message.Content);
        if (parts.Count == 0 && !string.IsNullOrEmpty(message.Refusal))
        {
            parts.Add(new GeminiPart { Text = message.Refusal });
        }

        var calls = message.ToolCalls ?? [];
        foreach (var call in calls)
        {
            const string callAt = At + ".tool_calls[]";
            if (call.Type != "function")
            {
                throw new UntranslatableException($"Tool call '{Shorten(call.Id!)}' is a custom tool call; Gemini only has function calls.", $"{callAt}.type");
            }

            callNames[call.Id!] = call.Function!.Name!;
            parts.Add(new GeminiPart
            {
                FunctionCall = new GeminiFunctionCall { Name = call.Function.Name!, Args = Arguments(call.Function.Arguments, call.Id!, $"{callAt}.function.arguments") },
                ThoughtSignature = ThoughtSignature(call.Extra),
            });
        }

        return parts;
    }

    /// <summary>Gemini takes arguments as a JSON object, not as OpenAI's string; a string that is not one is the caller's error.</summary>
    private static JsonElement Arguments(string? arguments, string id, string at)
    {
        if (string.IsNullOrWhiteSpace(arguments))
        {
            return EmptyObject;
        }

        try
        {
            using var document = JsonDocument.Parse(arguments);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document.RootElement.Clone();
            }
        }
        catch (JsonException)
        {
            // Reported below, the same as JSON that is not an object.
        }

        throw new UntranslatableException(
            $"The arguments of tool call '{Shorten(id)}' must be a JSON object (Gemini receives function arguments as an object), got: {Shorten(arguments)}", at);
    }

    /// <summary>A result that is a JSON object goes as is; anything else under <c>output</c>, the key Gemini reads as the function's output.</summary>
    private static GeminiPart FunctionResponse(string name, MessageContent? content)
    {
        var text = content?.JoinedText() ?? "";
        JsonNode? parsed = null;
        try
        {
            parsed = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            // Plain text; wrapped below.
        }

        var response = parsed as JsonObject ?? new JsonObject { ["output"] = text };
        return new GeminiPart { FunctionResponse = new GeminiFunctionResponse(name, response) };
    }

    /// <summary>Gemini's thought signature on a tool call, carried in <c>extra_content.google</c> as Google's own OpenAI endpoint does.</summary>
    private static string? ThoughtSignature(Dictionary<string, JsonElement>? extra) =>
        extra?.TryGetValue("extra_content", out var content) == true
        && content.ValueKind == JsonValueKind.Object
        && content.TryGetProperty("google", out var google) && google.ValueKind == JsonValueKind.Object
        && google.TryGetProperty("thought_signature", out var signature) && signature.ValueKind == JsonValueKind.String
            ? signature.GetString()
            : null;

    private static List<GeminiTool>? Tools(IReadOnlyList<ToolDefinition>? tools)
    {
        if (tools is not { Count: > 0 })
        {
            return null;
        }

        var declarations = new List<GeminiFunctionDeclaration>();
        for (var i = 0; i < tools.Count; i++)
        {
            if (tools[i].Type != "function")
            {
                throw new UntranslatableException($"'tools[{i}]' is a custom tool; Gemini only has function declarations.", $"tools[{i}].type");
            }

            var function = tools[i].Function!;
            var declaration = new GeminiFunctionDeclaration { Name = function.Name!, Description = function.Description };
            if (function.Parameters is { ValueKind: JsonValueKind.Object } schema && !GeminiSchema.IsEmptyObject(schema))
            {
                declaration = GeminiSchema.ToGemini(schema) is { } converted
                    ? declaration with { Parameters = converted }
                    : declaration with { ParametersJsonSchema = JsonNode.Parse(schema.GetRawText()) };
            }

            declarations.Add(declaration);
        }

        return [new GeminiTool(declarations)];
    }

    private static GeminiToolConfig? ToolConfig(JsonElement? choice)
    {
        var config = choice switch
        {
            null or { ValueKind: JsonValueKind.Null } => null,
            { ValueKind: JsonValueKind.String } s => s.GetString() switch
            {
                "none" => new GeminiFunctionCallingConfig { Mode = "NONE" },
                "required" => new GeminiFunctionCallingConfig { Mode = "ANY" },
                _ => new GeminiFunctionCallingConfig { Mode = "AUTO" },
            },
            { ValueKind: JsonValueKind.Object } o when o.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object
                                                       && f.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String =>
                new GeminiFunctionCallingConfig { Mode = "ANY", AllowedFunctionNames = [name.GetString()!] },
            _ => throw new UntranslatableException("'tool_choice' must be 'none', 'auto', 'required' or {\"type\":\"function\",\"function\":{\"name\":…}} for Gemini.", "tool_choice"),
        };
        return config is null ? null : new GeminiToolConfig(config);
    }

    private static GeminiGenerationConfig? GenerationConfig(ChatCompletionRequest r)
    {
        var (mimeType, schema, jsonSchema) = ResponseFormat(r.ResponseFormat);
        var config = new GeminiGenerationConfig
        {
            Temperature = r.Temperature,
            TopP = r.TopP,
            MaxOutputTokens = r.MaxCompletionTokens ?? r.MaxTokens,
            StopSequences = r.Stop switch
            {
                { ValueKind: JsonValueKind.String } s => [s.GetString()!],
                { ValueKind: JsonValueKind.Array } a => [.. a.EnumerateArray().Select(e => e.GetString()!)],
                _ => null,
            },
            CandidateCount = r.N,
            Seed = r.Seed switch
            {
                null => null,
                >= int.MinValue and <= int.MaxValue and var seed => (int)seed,
                _ => throw new UntranslatableException("'seed' must fit in 32 bits for Gemini.", "seed"),
            },
            PresencePenalty = r.PresencePenalty,
            FrequencyPenalty = r.FrequencyPenalty,
            ResponseMimeType = mimeType,
            ResponseSchema = schema,
            ResponseJsonSchema = jsonSchema,
        };
        return config == new GeminiGenerationConfig() ? null : config;
    }

    /// <summary>JSON mode is a MIME type in Gemini; a schema goes in Gemini's own form when it converts, else as JSON Schema.</summary>
    private static (string? MimeType, JsonNode? Schema, JsonNode? JsonSchema) ResponseFormat(JsonElement? format)
    {
        if (format is not { ValueKind: JsonValueKind.Object } f || !f.TryGetProperty("type", out var type))
        {
            return (null, null, null);
        }

        switch (type.GetString())
        {
            case "json_object":
                return ("application/json", null, null);
            case "json_schema":
                if (!f.TryGetProperty("json_schema", out var spec) || spec.ValueKind != JsonValueKind.Object
                    || !spec.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                {
                    return ("application/json", null, null);
                }

                return GeminiSchema.ToGemini(schema) is { } converted
                    ? ("application/json", converted, null)
                    : ("application/json", null, JsonNode.Parse(schema.GetRawText()));
            default:
                return (null, null, null);
        }
    }

    private static string? StringProperty(JsonElement? element, string name) =>
        element is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    private static UntranslatableException Missing(string at) => new($"Missing required parameter: '{at}'.", at);

    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "…";

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    /// <summary>Thrown inside the translation only, to stop at the first field Gemini cannot take.</summary>
    private sealed class UntranslatableException(string message, string param) : Exception(message)
    {
        public string Param { get; } = param;
    }
}
