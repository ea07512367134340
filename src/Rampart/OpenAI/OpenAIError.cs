using System.Text.Json.Serialization;

namespace Rampart.OpenAI;

/// <summary>OpenAI's error envelope: <c>{"error":{"message","type","param","code"}}</c>. The SDKs parse exactly this.</summary>
internal sealed record OpenAIErrorEnvelope(OpenAIErrorBody Error);

internal sealed record OpenAIErrorBody(
    string Message,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Param,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Code);

/// <summary>An error answer of the public API: status code plus envelope, and optional extra headers.</summary>
internal sealed record ApiError(int Status, string Message, string Type, string? Param = null, string? Code = null)
{
    public TimeSpan? RetryAfter { get; init; }

    public OpenAIErrorEnvelope ToEnvelope() => new(new OpenAIErrorBody(Message, Type, Param, Code));

    public static ApiError InvalidRequest(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status400BadRequest, message, "invalid_request_error", param, code);

    public static ApiError InvalidApiKey(string message) =>
        new(StatusCodes.Status401Unauthorized, message, "invalid_request_error", null, "invalid_api_key");

    public static ApiError PermissionDenied(string message, string? code = null) =>
        new(StatusCodes.Status403Forbidden, message, "permission_error", null, code);

    public static ApiError ModelNotFound(string model) =>
        new(StatusCodes.Status404NotFound,
            $"The model '{model}' does not exist or you do not have access to it.",
            "invalid_request_error", "model", "model_not_found");

    public static ApiError Internal(string requestId) =>
        new(StatusCodes.Status500InternalServerError,
            $"The gateway failed to process the request. Quote request id {requestId} to your administrator.",
            "server_error", null, "internal_error");
}
