using System.Text.Json;
using Rampart.OpenAI;

namespace Rampart.Providers.Anthropic;

/// <summary>
/// Turns an OpenAI chat request into a Messages API request. What Anthropic cannot honour is refused with a clear
/// 400 rather than dropped silently (several choices, JSON mode, audio, log probabilities); sampling hints it lacks
/// (penalties, seed, logit bias) are left out, as they change no contract the caller relies on.
/// </summary>
internal static class AnthropicRequestTranslator
{
    /// <summary>Anthropic requires <c>max_tokens</c>; OpenAI callers usually leave it out.</summary>
    public const int DefaultMaxTokens = 4096;

    /// <summary>Anthropic's temperature range is 0-1 where OpenAI's is 0-2; higher values are clamped to 1.</summary>
    public const double MaxTemperature = 1.0;

    /// <summary>Anthropic-only request fields a caller may send alongside OpenAI's; anything else unknown would be refused upstream.</summary>
    private static readonly string[] PassThrough = ["thinking", "top_k"];

    private static readonly JsonElement EmptySchema = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement;
    private static readonly JsonElement EmptyInput = JsonDocument.Parse("{}").RootElement;

    public static (AnthropicRequest? Request, UpstreamError? Error) Translate(ChatCompletionRequest request, string provider, bool stream)
    {
        try
        {
            return (Build(request, stream), null);
        }
        catch (UntranslatableException ex)
        {
            return (null, new UpstreamError(UpstreamErrorKind.Rejected, provider, ex.Message, StatusCodes.Status400BadRequest)
            {
                Type = "invalid_request_error",
                Param = ex.Param,
                Code = ex.Code,
            });
        }
    }

    private static AnthropicRequest Build(ChatCompletionRequest r, bool stream)
    {
        if (r.N is > 1)
        {
            throw new UntranslatableException("'n' greater than 1 is not supported by Anthropic: it returns one answer per request.", "n", "unsupported_parameter");
        }

        if (r.Logprobs == true)
        {
            throw new UntranslatableException("'logprobs' is not supported by Anthropic: it does not return log probabilities.", "logprobs", "unsupported_parameter");
        }

        if (r.ResponseFormat is { ValueKind: JsonValueKind.Object } format && format.TryGetProperty("type", out var formatType)
            && formatType.ValueKind == JsonValueKind.String && formatType.GetString() != "text")
        {
            throw new UntranslatableException(
                $"'response_format' of type '{formatType.GetString()}' is not supported by Anthropic through this gateway; describe the JSON you want in the prompt or use a tool.",
                "response_format", "unsupported_parameter");
        }

        var (system, messages) = Messages(r.Messages ?? []);
        var tools = Tools(r.Tools);
        return new AnthropicRequest
        {
            Model = r.Model ?? "",
            Messages = messages,
            MaxTokens = r.MaxCompletionTokens ?? r.MaxTokens ?? DefaultMaxTokens,
            System = system,
            Temperature = r.Temperature is { } t ? Math.Min(t, MaxTemperature) : null,
            TopP = r.TopP,
            StopSequences = StopSequences(r.Stop),
            Stream = stream ? true : null,
            Tools = tools,
            ToolChoice = tools is null ? null : ToolChoice(r.ToolChoice, r.ParallelToolCalls),
            Metadata = string.IsNullOrEmpty(r.User) ? null : new AnthropicMetadata(r.User),
            Extra = r.Extra?.Where(e => PassThrough.Contains(e.Key)).ToDictionary() is { Count: > 0 } extra ? extra : null,
        };
    }

    /// <summary>
    /// System and developer messages become the top-level <c>system</c> (Anthropic has no system role). Tool results
    /// travel in user turns, and consecutive turns of one role are merged, so that user and assistant alternate.
    /// </summary>
    private static (string? System, List<AnthropicMessage> Messages) Messages(IReadOnlyList<ChatMessage> messages)
    {
        var system = new List<string>();
        var turns = new List<(string Role, List<AnthropicBlock> Blocks)>();

        void Append(string role, List<AnthropicBlock> blocks)
        {
            if (blocks.Count == 0)
            {
                return;
            }

            if (turns.Count > 0 && turns[^1].Role == role)
            {
                turns[^1].Blocks.AddRange(blocks);
            }
            else
            {
                turns.Add((role, blocks));
            }
        }

        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            var at = $"messages[{i}]";
            switch (m.Role)
            {
                case "system" or "developer":
                    if (TextBlocks(m.Content, at) is { Count: > 0 } text)
                    {
                        system.Add(string.Join('\n', text.Select(b => b.Text)));
                    }

                    break;
                case "user":
                    Append("user", UserBlocks(m.Content, at));
                    break;
                case "assistant":
                    Append("assistant", AssistantBlocks(m, at));
                    break;
                case "tool":
                    Append("user", [ToolResult(m, at)]);
                    break;
                default:
                    throw new UntranslatableException(
                        $"The '{m.Role}' role is not supported by Anthropic; answer tool calls with 'tool' messages.", $"{at}.role", "unsupported_parameter");
            }
        }

        return (system.Count == 0 ? null : string.Join("\n\n", system), [.. turns.Select(t => new AnthropicMessage(t.Role, t.Blocks))]);
    }

    private static List<AnthropicBlock> UserBlocks(MessageContent? content, string at)
    {
        if (content?.Parts is not { } parts)
        {
            return Text(content?.Text);
        }

        var blocks = new List<AnthropicBlock>();
        for (var j = 0; j < parts.Count; j++)
        {
            var part = parts[j];
            var partAt = $"{at}.content[{j}]";
            switch (part.Type)
            {
                case "text":
                    blocks.AddRange(Text(part.Text));
                    break;
                case "image_url":
                    blocks.Add(new AnthropicBlock { Type = "image", Source = ImageSource(Url(part.ImageUrl, "url"), $"{partAt}.image_url.url") });
                    break;
                case "file" when Url(part.File, "file_data") is { } data:
                    blocks.Add(new AnthropicBlock { Type = "document", Source = DataSource(data, $"{partAt}.file.file_data", "application/pdf") });
                    break;
                default:
                    throw new UntranslatableException(
                        $"Content parts of type '{part.Type}' are not supported by Anthropic through this gateway (text, images and inline PDF files are).",
                        $"{partAt}.type", "unsupported_parameter");
            }
        }

        return blocks;
    }

    private static List<AnthropicBlock> AssistantBlocks(ChatMessage m, string at)
    {
        // Earlier reasoning is not sent back: Anthropic only accepts thinking blocks with its own signature, which OpenAI's format has no place for.
        var blocks = TextBlocks(m.Content, at);
        if (blocks.Count == 0 && !string.IsNullOrEmpty(m.Refusal))
        {
            // An earlier refusal is still what the assistant said; dropping the turn would leave two user turns to merge.
            blocks.Add(AnthropicBlock.FromText(m.Refusal));
        }

        for (var j = 0; j < (m.ToolCalls?.Count ?? 0); j++)
        {
            var call = m.ToolCalls![j];
            var callAt = $"{at}.tool_calls[{j}]";
            if (call.Type != "function")
            {
                throw new UntranslatableException($"Tool calls of type '{call.Type}' are not supported by Anthropic; only 'function' is.", $"{callAt}.type", "unsupported_parameter");
            }

            blocks.Add(new AnthropicBlock { Type = "tool_use", Id = call.Id, Name = call.Function?.Name, Input = Arguments(call.Function?.Arguments, $"{callAt}.function.arguments") });
        }

        return blocks;
    }

    private static AnthropicBlock ToolResult(ChatMessage m, string at)
    {
        var content = TextBlocks(m.Content, at);
        return new AnthropicBlock { Type = "tool_result", ToolUseId = m.ToolCallId, Content = content.Count == 0 ? null : content };
    }

    /// <summary>Anthropic wants the tool input as a JSON object; OpenAI carries it as a string the model wrote.</summary>
    private static JsonElement Arguments(string? arguments, string at)
    {
        if (string.IsNullOrWhiteSpace(arguments))
        {
            return EmptyInput;
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
            // Reported below, with the parameter named.
        }

        throw new UntranslatableException($"Invalid value for '{at}': Anthropic needs tool call arguments to be a JSON object.", at, "invalid_tool_arguments");
    }

    private static List<AnthropicTool>? Tools(IReadOnlyList<ToolDefinition>? tools)
    {
        if (tools is null || tools.Count == 0)
        {
            return null;
        }

        var list = new List<AnthropicTool>(tools.Count);
        for (var i = 0; i < tools.Count; i++)
        {
            var tool = tools[i];
            if (tool.Type != "function" || tool.Function?.Name is not { } name)
            {
                throw new UntranslatableException($"Tools of type '{tool.Type}' are not supported by Anthropic; only 'function' is.", $"tools[{i}].type", "unsupported_parameter");
            }

            list.Add(new AnthropicTool(name, tool.Function.Description, tool.Function.Parameters is { ValueKind: JsonValueKind.Object } schema ? schema : EmptySchema));
        }

        return list;
    }

    private static AnthropicToolChoice? ToolChoice(JsonElement? choice, bool? parallelToolCalls)
    {
        var disableParallel = parallelToolCalls == false ? true : (bool?)null;
        return choice switch
        {
            null or { ValueKind: JsonValueKind.Null } => disableParallel is null ? null : new AnthropicToolChoice("auto", DisableParallelToolUse: true),
            { ValueKind: JsonValueKind.String } s => s.GetString() switch
            {
                "auto" => new AnthropicToolChoice("auto", DisableParallelToolUse: disableParallel),
                "required" => new AnthropicToolChoice("any", DisableParallelToolUse: disableParallel),
                "none" => new AnthropicToolChoice("none"),
                var other => throw new UntranslatableException($"Invalid value for 'tool_choice': '{other}'.", "tool_choice"),
            },
            { ValueKind: JsonValueKind.Object } o when o.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object
                                                       && f.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String =>
                new AnthropicToolChoice("tool", name.GetString(), disableParallel),
            _ => throw new UntranslatableException("This 'tool_choice' is not supported by Anthropic; use 'auto', 'required', 'none' or one named function.", "tool_choice", "unsupported_parameter"),
        };
    }

    private static List<string>? StopSequences(JsonElement? stop) => stop switch
    {
        { ValueKind: JsonValueKind.String } s => [s.GetString()!],
        { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() > 0 => [.. a.EnumerateArray().Select(e => e.GetString()!)],
        _ => null,
    };

    private static AnthropicSource ImageSource(string? url, string at)
    {
        if (url is null)
        {
            throw new UntranslatableException($"Missing required parameter: '{at}'.", at);
        }

        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return DataSource(url, at, null);
        }

        if (url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            return new AnthropicSource("url", Url: url);
        }

        throw new UntranslatableException($"Invalid value for '{at}': expected an http(s) URL or a base64 data: URL.", at);
    }

    /// <summary>A <c>data:&lt;media type&gt;;base64,&lt;data&gt;</c> URL as an inline base64 source.</summary>
    private static AnthropicSource DataSource(string url, string at, string? defaultMediaType)
    {
        var comma = url.IndexOf(',', StringComparison.Ordinal);
        var header = comma > 5 ? url[5..comma] : "";
        if (comma < 0 || !header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
        {
            throw new UntranslatableException($"Invalid value for '{at}': a data: URL must be base64-encoded (data:<media type>;base64,<data>).", at);
        }

        var mediaType = header[..^";base64".Length];
        return new AnthropicSource("base64", mediaType.Length > 0 ? mediaType : defaultMediaType, url[(comma + 1)..]);
    }

    private static string? Url(JsonElement? payload, string property) =>
        payload is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty(property, out var url) && url.ValueKind == JsonValueKind.String ? url.GetString() : null;

    /// <summary>String content or text parts as text blocks; other parts have no place here (system prompts, assistant turns, tool results).</summary>
    private static List<AnthropicBlock> TextBlocks(MessageContent? content, string at)
    {
        if (content?.Parts is not { } parts)
        {
            return Text(content?.Text);
        }

        var blocks = new List<AnthropicBlock>();
        for (var j = 0; j < parts.Count; j++)
        {
            if (parts[j].Type is not ("text" or "refusal"))
            {
                throw new UntranslatableException($"Content parts of type '{parts[j].Type}' are not supported here by Anthropic; only text is.", $"{at}.content[{j}].type", "unsupported_parameter");
            }

            blocks.AddRange(Text(parts[j].Text ?? parts[j].Refusal));
        }

        return blocks;
    }

    /// <summary>A text block, or none for empty text: Anthropic refuses empty text blocks.</summary>
    private static List<AnthropicBlock> Text(string? text) => string.IsNullOrEmpty(text) ? [] : [AnthropicBlock.FromText(text)];

    private sealed class UntranslatableException(string message, string param, string? code = null) : Exception(message)
    {
        public string Param { get; } = param;
        public string? Code { get; } = code;
    }
}
