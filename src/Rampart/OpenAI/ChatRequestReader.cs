using System.Text.Json;
using Microsoft.Net.Http.Headers;

namespace Rampart.OpenAI;

/// <summary>Parses and validates a chat completion request body into a typed request or an <see cref="ApiError"/> naming the param.</summary>
internal static class ChatRequestReader
{
    public static async Task<(ChatCompletionRequest? Request, ApiError? Error)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!IsJson(request.ContentType))
        {
            return (null, ApiError.InvalidRequest(
                $"Unsupported Content-Type '{request.ContentType ?? "(none)"}': send the request body as JSON with 'Content-Type: application/json'.",
                code: "unsupported_content_type"));
        }

        ChatCompletionRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync(request.Body, OpenAIJson.Wire.ChatCompletionRequest, cancellationToken);
        }
        catch (JsonException ex)
        {
            return (null, FromJsonException(ex));
        }

        if (body is null)
        {
            return (null, ApiError.InvalidRequest("The request body must be a JSON object.", code: "invalid_json"));
        }

        var error = ChatRequestValidator.Validate(body);
        return error is null ? (body, null) : (null, error);
    }

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (media.SubTypeWithoutSuffix.HasValue && media.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase)));

    internal static ApiError FromJsonException(JsonException ex)
    {
        var param = ToParam(ex.Path);
        var where = ex.LineNumber is { } line ? $" (line {line + 1}, byte {ex.BytePositionInLine + 1})" : "";
        if (ex.InnerException?.GetType().Name == "JsonReaderException" || param is null)
        {
            return ApiError.InvalidRequest($"The request body is not valid JSON{where}.", param, "invalid_json");
        }

        var detail = ex is InvalidShapeException ? ex.Message : $"expected {ExpectedType(ex.Message)}";
        return ApiError.InvalidRequest($"Invalid value for '{param}': {detail}.", param, "invalid_type");
    }

    /// <summary>Reads the target type out of System.Text.Json's conversion message and names it the way the API reference does.</summary>
    private static string ExpectedType(string message) => message switch
    {
        _ when message.Contains("System.Double", StringComparison.Ordinal) => "a number",
        _ when message.Contains("System.Int32", StringComparison.Ordinal) || message.Contains("System.Int64", StringComparison.Ordinal) => "an integer",
        _ when message.Contains("System.Boolean", StringComparison.Ordinal) => "a boolean",
        _ when message.Contains("System.String", StringComparison.Ordinal) => "a string",
        _ when message.Contains("IReadOnlyList", StringComparison.Ordinal) => "an array",
        _ => "an object",
    };

    /// <summary>"$.messages[0].content" → "messages[0].content"; "$" → null.</summary>
    internal static string? ToParam(string? jsonPath)
    {
        if (string.IsNullOrEmpty(jsonPath) || jsonPath == "$")
        {
            return null;
        }

        return jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath.TrimStart('$');
    }
}

/// <summary>Thrown by our converters when a value has a shape the contract does not allow; the message is shown to the caller.</summary>
internal sealed class InvalidShapeException(string message) : JsonException(message);
