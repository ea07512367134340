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
        // The reader's own JsonException (internal type) wraps syntax errors; the path then only says where parsing stopped, not a bad param.
        if (ex.InnerException is JsonException)
        {
            return ApiError.InvalidRequest($"The request body is not valid JSON{where}.", null, "invalid_json");
        }

        if (param is null)
        {
            return ApiError.InvalidRequest("The request body must be a JSON object.", null, "invalid_json");
        }

        // AllowDuplicateProperties = false: an ambiguous body is refused rather than silently keeping one of the values.
        if (ex.InnerException is null && ex.Message.StartsWith("Duplicate property", StringComparison.Ordinal))
        {
            return ApiError.InvalidRequest($"The property '{param}' appears more than once in the request body.", param, "invalid_json");
        }

        var detail = ex is InvalidShapeException ? ex.Message : $"expected {ExpectedType(param)}";
        return ApiError.InvalidRequest($"Invalid value for '{param}': {detail}.", param, "invalid_type");
    }

    /// <summary>
    /// The type the contract declares at <paramref name="param"/> ("tools[0].function.name" → a string), named the way
    /// the API reference does. Read from the serializer's metadata: System.Text.Json's messages name the containing type.
    /// </summary>
    private static string ExpectedType(string param)
    {
        var options = OpenAIJson.Wire.Options;
        var type = typeof(ChatCompletionRequest);
        foreach (var segment in param.Split('.'))
        {
            var bracket = segment.IndexOf('[', StringComparison.Ordinal);
            var name = bracket < 0 ? segment : segment[..bracket];
            var property = options.GetTypeInfo(type).Properties.FirstOrDefault(p => p.Name == name);
            if (property is null)
            {
                return "a value of another type";
            }

            type = property.PropertyType;
            for (var i = bracket; i >= 0; i = segment.IndexOf('[', i + 1))
            {
                if (ElementType(type) is not { } element)
                {
                    return "a value of another type";
                }

                type = element;
            }
        }

        type = Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            _ when type == typeof(double) => "a number",
            _ when type == typeof(int) || type == typeof(long) => "an integer",
            _ when type == typeof(bool) => "a boolean",
            _ when type == typeof(string) => "a string",
            _ when ElementType(type) is not null => "an array",
            _ => "an object",
        };
    }

    private static Type? ElementType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>) ? type.GetGenericArguments()[0] : null;

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
