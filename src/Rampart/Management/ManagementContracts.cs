using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Rampart.Workspaces;

namespace Rampart.Management;

/// <summary>A list in OpenAI's shape: <c>{"object":"list","data":[…]}</c>.</summary>
internal sealed record ListOf<T>(IReadOnlyList<T> Data)
{
    public string Object { get; } = "list";
}

/// <summary>One page of a newest-first list; pass <see cref="NextCursor"/> as <c>cursor</c> for the next page.</summary>
internal sealed record PageOf<T>(IReadOnlyList<T> Data, bool HasMore, string? NextCursor)
{
    public string Object { get; } = "list";
}

// ---- users ----

internal sealed record UserView(string Id, string Email, string Name, string Role, string Status, DateTimeOffset CreatedAt, DateTimeOffset? DisabledAt);

internal sealed record CreateUserRequest
{
    public required string Email { get; init; }

    public string? Name { get; init; }

    public string? Role { get; init; }

    /// <summary>Dashboard password; generated and returned once when omitted.</summary>
    public string? Password { get; init; }
}

/// <summary>The created user; <see cref="Password"/> only when the gateway generated it, and only in this answer.</summary>
internal sealed record CreatedUser(UserView User, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Password);

internal sealed record UpdateUserRequest
{
    public string? Name { get; init; }

    public string? Role { get; init; }
}

// ---- workspaces and members ----

/// <summary>A workspace as the caller sees it; <see cref="Policy"/> only for its admins.</summary>
internal sealed record WorkspaceView(
    string Id,
    string Name,
    string Provider,
    string Model,
    string YourRole,
    DateTimeOffset CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] WorkspacePolicy? Policy);

internal sealed record CreateWorkspaceRequest
{
    public required string Name { get; init; }

    /// <summary>The whole policy; defaults when omitted.</summary>
    public WorkspacePolicy? Policy { get; init; }
}

internal sealed record MemberView(string UserId, string Email, string Name, string Role);

internal sealed record AddMemberRequest
{
    /// <summary>User id (<c>usr_…</c>) or email.</summary>
    public required string User { get; init; }

    public string? Role { get; init; }
}

internal sealed record MemberRoleRequest
{
    public required string Role { get; init; }
}

// ---- provider credentials ----

/// <summary>A stored credential: never the key, only its last characters.</summary>
internal sealed record CredentialView(string Provider, string? BaseUrl, string? KeyHint, DateTimeOffset UpdatedAt);

internal sealed record SetCredentialRequest
{
    public string? ApiKey { get; init; }

    public string? BaseUrl { get; init; }
}

// ---- keys ----

internal sealed record KeyView(
    string Id,
    string UserId,
    string Name,
    string Prefix,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt,
    long RequestCount,
    DateTimeOffset? ExpiresAt,
    string Status,
    DateTimeOffset? RevokedAt);

internal sealed record CreateKeyRequest
{
    public required string Name { get; init; }

    public int? ExpiresInDays { get; init; }

    /// <summary>Org admins only: create the key for another user.</summary>
    public string? UserId { get; init; }
}

/// <summary>The new key: <see cref="Key"/> is in this answer only and is never stored.</summary>
internal sealed record CreatedKey(string Key, KeyView Info);

// ---- audit and usage ----

internal sealed record AuditRecordView(
    string Id,
    DateTimeOffset CreatedAt,
    string? Endpoint,
    string? UserId,
    string? KeyId,
    string? WorkspaceId,
    string? Workspace,
    string? RequestedModel,
    string? Provider,
    string? ServedModel,
    int Status,
    string Outcome,
    string? ErrorCode,
    IReadOnlyList<string> Verdicts,
    bool Stream,
    int Attempts,
    long? PromptTokens,
    long? CompletionTokens,
    bool TokensEstimated,
    double? CostUsd,
    double LatencyMs,
    double? TtftMs,
    string? ClientIp,
    string? UserAgent);

/// <summary>One group of <c>usage_daily</c>: only the fields of the chosen grouping are present.</summary>
internal sealed record UsageView
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Day { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? WorkspaceId { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Workspace { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? UserId { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Email { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Provider { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Model { get; init; }

    public long Requests { get; init; }

    public long PromptTokens { get; init; }

    public long CompletionTokens { get; init; }

    public double CostUsd { get; init; }

    public long Blocked { get; init; }
}

/// <summary>
/// Source-generated JSON for the management API. snake_case like the rest of the API; request bodies are strict
/// (an unknown field is a 400, so a typo is not silently ignored).
/// </summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.Strict,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowDuplicateProperties = false,
    Converters = [typeof(TextWithoutNul)])]
[JsonSerializable(typeof(ListOf<UserView>))]
[JsonSerializable(typeof(CreateUserRequest))]
[JsonSerializable(typeof(CreatedUser))]
[JsonSerializable(typeof(UpdateUserRequest))]
[JsonSerializable(typeof(ListOf<WorkspaceView>))]
[JsonSerializable(typeof(CreateWorkspaceRequest))]
[JsonSerializable(typeof(ListOf<MemberView>))]
[JsonSerializable(typeof(AddMemberRequest))]
[JsonSerializable(typeof(MemberRoleRequest))]
[JsonSerializable(typeof(ListOf<CredentialView>))]
[JsonSerializable(typeof(SetCredentialRequest))]
[JsonSerializable(typeof(ListOf<KeyView>))]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(CreatedKey))]
[JsonSerializable(typeof(PageOf<AuditRecordView>))]
[JsonSerializable(typeof(ListOf<UsageView>))]
internal sealed partial class ManagementJson : JsonSerializerContext
{
    /// <summary>Like <see cref="Default"/>, writing UTF-8 text as is (names, verdicts with '×'), as <c>OpenAIJson.Wire</c> does; only ever served as JSON.</summary>
    public static ManagementJson Wire => s_wire ??= new(new JsonSerializerOptions(Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    // Lazy: static initializers in the generated half of this partial class run in no guaranteed order.
    private static ManagementJson? s_wire;
}

/// <summary>
/// Refuses text holding U+0000 in a management request: PostgreSQL cannot store it (the request would fail in the
/// database with a 500), and no name, e-mail address or setting needs it. The caller gets a 400 naming the field.
/// </summary>
internal sealed class TextWithoutNul : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        return text is not null && text.Contains('\0', StringComparison.Ordinal)
            ? throw new JsonException("Text must not contain the NUL character (U+0000).")
            : text;
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}
