using System.Text.Json.Serialization;

namespace Rampart.Audit;

/// <summary>
/// One request to the API as it is stored: who, what was asked for, who answered, what the checks decided, what it
/// cost. Holds kinds, counts and locations of sensitive findings, never prompt text, answers, keys or PII values.
/// The id is the request id (<c>x-request-id</c>), so writing the same record twice is a no-op.
/// </summary>
internal sealed record AuditRecord
{
    public required string Id { get; init; }

    /// <summary>When the request arrived, unix milliseconds UTC.</summary>
    public long CreatedAt { get; init; }

    /// <summary>The route answered, e.g. <c>POST /api/v1/chat/completions</c>; null for an unknown URL.</summary>
    public string? Endpoint { get; init; }

    public string? UserId { get; init; }

    /// <summary>The API key's id, or <c>master</c> for the master key; null when authentication failed.</summary>
    public string? KeyId { get; init; }

    public string? WorkspaceId { get; init; }

    public string? Workspace { get; init; }

    public string? RequestedModel { get; init; }

    public string? Provider { get; init; }

    public string? ServedModel { get; init; }

    public int Status { get; init; }

    /// <summary>One of <see cref="AuditOutcomes"/>.</summary>
    public required string Outcome { get; init; }

    public string? ErrorCode { get; init; }

    /// <summary>What each security check decided, e.g. <c>Blocked by Secret Detection: GitHub token×1 (messages[2].content)</c>.</summary>
    public IReadOnlyList<string> Verdicts { get; init; } = [];

    public bool Stream { get; init; }

    /// <summary>
    /// Upstream calls made (retries and fallbacks included), as counted when routing returned: 0 when the request
    /// never reached a provider, and also when the client left while the first call was still waiting.
    /// </summary>
    public int Attempts { get; init; }

    public long? PromptTokens { get; init; }

    public long? CompletionTokens { get; init; }

    /// <summary>True when the provider reported no usage and the token counts are estimated from the text's length.</summary>
    public bool TokensEstimated { get; init; }

    /// <summary>From the price table; null when the model has no price there or no tokens were used.</summary>
    public double? CostUsd { get; init; }

    public double LatencyMs { get; init; }

    /// <summary>Time to the first byte of a streamed answer; null for anything but a stream that started.</summary>
    public double? TtftMs { get; init; }

    public string? ClientIp { get; init; }

    public string? UserAgent { get; init; }

    [JsonIgnore]
    public bool IsBlocked => Outcome == AuditOutcomes.Blocked;
}

/// <summary>How a request ended, for filtering the audit log and counting in the daily roll-ups.</summary>
internal static class AuditOutcomes
{
    public const string Ok = "ok";
    public const string Blocked = "blocked";
    public const string Unauthenticated = "unauthenticated";
    public const string Forbidden = "forbidden";
    public const string NotFound = "not_found";
    public const string InvalidRequest = "invalid_request";
    public const string RateLimited = "rate_limited";
    public const string UpstreamError = "upstream_error";
    public const string UpstreamTimeout = "upstream_timeout";
    public const string StreamFailed = "stream_failed";
    public const string ClientDisconnected = "client_disconnected";
    public const string Overloaded = "overloaded";
    public const string Error = "error";

    /// <summary>Every outcome, in the order filters list them.</summary>
    public static readonly string[] All =
    [
        Ok, Blocked, Unauthenticated, Forbidden, NotFound, InvalidRequest, RateLimited, UpstreamError, UpstreamTimeout,
        StreamFailed, ClientDisconnected, Overloaded, Error,
    ];

    /// <summary>nginx's code for "the client closed the connection before the answer was complete".</summary>
    public const int ClientClosedRequest = 499;

    /// <summary>The outcome a status implies when the handler did not name one.</summary>
    public static string FromStatus(int status) => status switch
    {
        < 400 => Ok,
        StatusCodes.Status401Unauthorized => Unauthenticated,
        StatusCodes.Status403Forbidden => Forbidden,
        StatusCodes.Status404NotFound => NotFound,
        StatusCodes.Status429TooManyRequests => RateLimited,
        ClientClosedRequest => ClientDisconnected,
        StatusCodes.Status504GatewayTimeout => UpstreamTimeout,
        StatusCodes.Status502BadGateway or StatusCodes.Status503ServiceUnavailable => UpstreamError,
        >= 500 => Error,
        _ => InvalidRequest,
    };
}

/// <summary>Source-generated JSON for the spool file and the verdicts column.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AuditRecord))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class AuditJson : JsonSerializerContext;
