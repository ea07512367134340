using System.Text.Json;

namespace Rampart.OpenAI;

/// <summary>Checks a parsed request against OpenAI's documented limits plus Rampart's fields; the first problem wins and names its param.</summary>
internal static class ChatRequestValidator
{
    public static readonly string[] PiiModes = ["disabled", "obfuscate", "block"];
    private static readonly string[] Roles = ["system", "developer", "user", "assistant", "tool", "function"];
    private static readonly string[] ToolChoiceModes = ["none", "auto", "required"];
    private static readonly string[] ResponseFormats = ["text", "json_object", "json_schema"];

    public static ApiError? Validate(ChatCompletionRequest r)
    {
        if (string.IsNullOrWhiteSpace(r.Model))
        {
            return Invalid("You must provide a model parameter: a workspace name (see GET /api/v1/models) or a provider model id such as 'openai/gpt-4o'.", "model");
        }

        if (r.Messages is null || r.Messages.Count == 0)
        {
            return Invalid("'messages' must be a non-empty array of messages.", "messages");
        }

        for (var i = 0; i < r.Messages.Count; i++)
        {
            if (ValidateMessage(r.Messages[i], $"messages[{i}]") is { } error)
            {
                return error;
            }
        }

        return Range(r.Temperature, 0, 2, "temperature")
            ?? Range(r.TopP, 0, 1, "top_p")
            ?? Range(r.PresencePenalty, -2, 2, "presence_penalty")
            ?? Range(r.FrequencyPenalty, -2, 2, "frequency_penalty")
            ?? Range(r.N, 1, 128, "n")
            ?? Range(r.MaxTokens, 1, int.MaxValue, "max_tokens")
            ?? Range(r.MaxCompletionTokens, 1, int.MaxValue, "max_completion_tokens")
            ?? Range(r.TopLogprobs, 0, 20, "top_logprobs")
            ?? ValidateStop(r.Stop)
            ?? ValidateObject(r.LogitBias, "logit_bias")
            ?? ValidateTools(r.Tools)
            ?? ValidateToolChoice(r.ToolChoice)
            ?? ValidateResponseFormat(r.ResponseFormat)
            ?? ValidateRampartFields(r)
            ?? (r.StreamOptions is not null && !r.IsStreaming
                ? Invalid("The 'stream_options' parameter is only allowed when 'stream' is true.", "stream_options")
                : null)
            ?? (r.TopLogprobs is not null && r.Logprobs != true
                ? Invalid("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs")
                : null);
    }

    private static ApiError? ValidateRampartFields(ChatCompletionRequest r)
    {
        if (r.Pii is { } pii && !PiiModes.Contains(pii))
        {
            return Invalid($"Invalid value for 'pii': '{Shorten(pii)}'. Supported values are: 'disabled', 'obfuscate' and 'block'.", "pii");
        }

        return null;
    }

    private static ApiError? ValidateMessage(ChatMessage m, string at)
    {
        if (m.Role is null)
        {
            return Invalid($"Missing required parameter: '{at}.role'.", $"{at}.role");
        }

        if (!Roles.Contains(m.Role))
        {
            return Invalid($"Invalid value for '{at}.role': '{Shorten(m.Role)}'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool' and 'function'.", $"{at}.role");
        }

        var hasContent = m.Content is { Text: not null } or { Parts.Count: > 0 };
        switch (m.Role)
        {
            case "assistant":
                if (!hasContent && (m.ToolCalls is null || m.ToolCalls.Count == 0) && m.Refusal is null && m.Extra?.ContainsKey("function_call") != true)
                {
                    return Invalid($"'{at}' is an assistant message without 'content' or 'tool_calls'.", $"{at}.content");
                }

                break;
            case "tool":
                if (string.IsNullOrEmpty(m.ToolCallId))
                {
                    return Invalid($"Missing required parameter: '{at}.tool_call_id' (a tool message answers one tool call).", $"{at}.tool_call_id");
                }

                goto default;
            case "function":
                if (string.IsNullOrEmpty(m.Name))
                {
                    return Invalid($"Missing required parameter: '{at}.name'.", $"{at}.name");
                }

                goto default;
            default:
                if (m.Content is null)
                {
                    return Invalid($"Missing required parameter: '{at}.content'.", $"{at}.content");
                }

                break;
        }

        if (m.Content?.Parts is { } parts)
        {
            for (var j = 0; j < parts.Count; j++)
            {
                if (ValidatePart(parts[j], m.Role, $"{at}.content[{j}]") is { } error)
                {
                    return error;
                }
            }
        }

        if (m.ToolCalls is { } calls)
        {
            for (var j = 0; j < calls.Count; j++)
            {
                var call = calls[j];
                var callAt = $"{at}.tool_calls[{j}]";
                if (string.IsNullOrEmpty(call.Id))
                {
                    return Invalid($"Missing required parameter: '{callAt}.id'.", $"{callAt}.id");
                }

                if (call.Type is not ("function" or "custom"))
                {
                    return Invalid($"Invalid value for '{callAt}.type': expected 'function'.", $"{callAt}.type");
                }

                if (call.Type == "function" && string.IsNullOrEmpty(call.Function?.Name))
                {
                    return Invalid($"Missing required parameter: '{callAt}.function.name'.", $"{callAt}.function.name");
                }
            }
        }

        return null;
    }

    private static ApiError? ValidatePart(ContentPart part, string role, string at)
    {
        switch (part.Type)
        {
            case null:
                return Invalid($"Missing required parameter: '{at}.type'.", $"{at}.type");
            case "text":
                return part.Text is null ? Invalid($"Missing required parameter: '{at}.text'.", $"{at}.text") : null;
            case "refusal" when role == "assistant":
                return part.Refusal is null ? Invalid($"Missing required parameter: '{at}.refusal'.", $"{at}.refusal") : null;
            case "image_url" or "input_audio" or "file" when role == "user":
                var payload = part.Type switch { "image_url" => part.ImageUrl, "input_audio" => part.InputAudio, _ => part.File };
                return payload is { ValueKind: JsonValueKind.Object }
                    ? null
                    : Invalid($"Missing required parameter: '{at}.{part.Type}' (an object).", $"{at}.{part.Type}");
            default:
                return Invalid($"Invalid value for '{at}.type': '{Shorten(part.Type)}' is not a content part type a '{role}' message can carry.", $"{at}.type");
        }
    }

    private static ApiError? ValidateStop(JsonElement? stop)
    {
        if (stop is not { } s || s.ValueKind is JsonValueKind.Null or JsonValueKind.String)
        {
            return null;
        }

        if (s.ValueKind == JsonValueKind.Array && s.GetArrayLength() <= 4 && s.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
        {
            return null;
        }

        return Invalid("Invalid value for 'stop': expected a string or an array of at most 4 strings.", "stop");
    }

    private static ApiError? ValidateObject(JsonElement? value, string param) =>
        value is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null) }
            ? Invalid($"Invalid type for '{param}': expected an object.", param)
            : null;

    private static ApiError? ValidateTools(IReadOnlyList<ToolDefinition>? tools)
    {
        if (tools is null)
        {
            return null;
        }

        for (var i = 0; i < tools.Count; i++)
        {
            var tool = tools[i];
            var at = $"tools[{i}]";
            if (tool.Type is not ("function" or "custom"))
            {
                return Invalid($"Invalid value for '{at}.type': expected 'function'.", $"{at}.type");
            }

            if (tool.Type == "function")
            {
                var name = tool.Function?.Name;
                if (string.IsNullOrEmpty(name))
                {
                    return Invalid($"Missing required parameter: '{at}.function.name'.", $"{at}.function.name");
                }

                if (name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
                {
                    return Invalid($"Invalid value for '{at}.function.name': must be 1-64 characters of a-z, A-Z, 0-9, underscores and dashes.", $"{at}.function.name");
                }

                if (tool.Function?.Parameters is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null) })
                {
                    return Invalid($"Invalid type for '{at}.function.parameters': expected a JSON Schema object.", $"{at}.function.parameters");
                }
            }
        }

        return null;
    }

    private static ApiError? ValidateToolChoice(JsonElement? choice) => choice switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } s when ToolChoiceModes.Contains(s.GetString()) => null,
        { ValueKind: JsonValueKind.Object or JsonValueKind.Null } => null,
        _ => Invalid("Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or an object naming a function.", "tool_choice"),
    };

    private static ApiError? ValidateResponseFormat(JsonElement? format)
    {
        if (format is not { ValueKind: JsonValueKind.Object } f)
        {
            return format is { ValueKind: not JsonValueKind.Null }
                ? Invalid("Invalid type for 'response_format': expected an object.", "response_format")
                : null;
        }

        return f.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && ResponseFormats.Contains(type.GetString())
            ? null
            : Invalid("Invalid value for 'response_format.type': expected 'text', 'json_object' or 'json_schema'.", "response_format.type");
    }

    private static ApiError? Range(double? value, double min, double max, string param) =>
        value is { } v && (double.IsNaN(v) || v < min || v > max)
            ? Invalid($"Invalid value for '{param}': must be between {min} and {max}, got {v}.", param)
            : null;

    private static ApiError? Range(int? value, int min, int max, string param) =>
        value is { } v && (v < min || v > max)
            ? Invalid(max == int.MaxValue
                ? $"Invalid value for '{param}': must be at least {min}, got {v}."
                : $"Invalid value for '{param}': must be between {min} and {max}, got {v}.", param)
            : null;

    private static ApiError Invalid(string message, string param) => ApiError.InvalidRequest(message, param, "invalid_value");

    /// <summary>Echo at most a short prefix of a caller's bad value, so an error never reflects a whole payload.</summary>
    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
