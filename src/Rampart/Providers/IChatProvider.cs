using Rampart.OpenAI;

namespace Rampart.Providers;

/// <summary>
/// One wire protocol to a model provider. It receives an OpenAI-shaped request whose <c>model</c> is already the
/// provider's own model id and whose Rampart-only fields are stripped, and answers in OpenAI's shape.
/// Failures before the answer starts are values (<see cref="UpstreamError"/>); a failure in the middle of a
/// stream surfaces as an <see cref="UpstreamException"/> from the enumerator.
/// </summary>
internal interface IChatProvider
{
    /// <summary>The provider name used in model ids and audit records (<c>openai</c>, <c>local</c> …).</summary>
    string Name { get; }

    /// <summary>Whether its models can call tools; a gateway-run web search needs them, else it searches first.</summary>
    bool SupportsTools => true;

    Task<ProviderResult<ChatCompletion>> CompleteAsync(ChatCompletionRequest request, CancellationToken cancellationToken);

    Task<ProviderResult<IAsyncEnumerable<ChatCompletionChunk>>> StreamAsync(ChatCompletionRequest request, CancellationToken cancellationToken);
}

internal readonly record struct ProviderResult<T>(T? Value, UpstreamError? Error)
{
    public static implicit operator ProviderResult<T>(UpstreamError error) => new(default, error);

    public static ProviderResult<T> Ok(T value) => new(value, null);
}

internal enum UpstreamErrorKind
{
    /// <summary>The provider refused the request (4xx other than auth): the caller's request is at fault; passed through.</summary>
    Rejected,

    /// <summary>The provider refused Rampart's credentials (401/403): an operator problem, not the caller's.</summary>
    Unauthorized,

    /// <summary>The provider failed (5xx, malformed answer) or could not be reached.</summary>
    Failed,

    /// <summary>No answer within the configured time.</summary>
    TimedOut,

    /// <summary>The provider is not usable as configured.</summary>
    NotConfigured,
}

/// <summary>An expected upstream failure, mapped to the caller's HTTP status in one place: <see cref="ToApiError"/>.</summary>
internal sealed record UpstreamError(UpstreamErrorKind Kind, string Provider, string Message, int? UpstreamStatus = null)
{
    public string? Type { get; init; }
    public string? Param { get; init; }
    public string? Code { get; init; }
    public TimeSpan? RetryAfter { get; init; }

    public ApiError ToApiError() => Kind switch
    {
        UpstreamErrorKind.Rejected => new ApiError(UpstreamStatus ?? 400, Message, Type ?? "invalid_request_error", Param, Code) { RetryAfter = RetryAfter },
        UpstreamErrorKind.Unauthorized => new ApiError(StatusCodes.Status502BadGateway, Message, "api_error", null, "upstream_auth_failed"),
        UpstreamErrorKind.TimedOut => new ApiError(StatusCodes.Status504GatewayTimeout, Message, "api_error", null, "upstream_timeout"),
        UpstreamErrorKind.NotConfigured => new ApiError(StatusCodes.Status503ServiceUnavailable, Message, "api_error", null, "provider_not_configured"),
        _ => new ApiError(StatusCodes.Status502BadGateway, Message, "api_error", null, "upstream_error"),
    };
}

/// <summary>Carries an <see cref="UpstreamError"/> out of a stream that had already started.</summary>
internal sealed class UpstreamException(UpstreamError error) : Exception(error.Message)
{
    public UpstreamError Error { get; } = error;
}
