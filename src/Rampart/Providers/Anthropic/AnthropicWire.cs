using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Rampart.Providers.Anthropic;

/// <summary>
/// The body of <c>POST /v1/messages</c>. Only the fields Rampart fills are modelled; the API rejects unknown
/// top-level fields, so nothing from the OpenAI request is forwarded blindly (see <see cref="Extra"/>).
/// </summary>
internal sealed record AnthropicRequest
{
    public string Model { get; init; } = "";
    public IReadOnlyList<AnthropicMessage> Messages { get; init; } = [];
    public int MaxTokens { get; init; }
    public string? System { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public IReadOnlyList<string>? StopSequences { get; init; }
    public bool? Stream { get; init; }
    public IReadOnlyList<AnthropicTool>? Tools { get; init; }
    public AnthropicToolChoice? ToolChoice { get; init; }
    public AnthropicMetadata? Metadata { get; init; }

    /// <summary>Anthropic-only parameters a caller may add to an OpenAI request (<c>thinking</c>, <c>top_k</c>), passed as sent.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record AnthropicMessage(string Role, IReadOnlyList<AnthropicBlock> Content);

/// <summary>
/// Any content block, in requests and answers: <c>text</c>, <c>image</c>, <c>document</c>, <c>tool_use</c>,
/// <c>tool_result</c>, <c>thinking</c> … One flat shape keeps (de)serialisation source-generated; the fields a
/// block type does not use stay null and are not written.
/// </summary>
internal sealed record AnthropicBlock
{
    public string Type { get; init; } = "";
    public string? Text { get; init; }
    public AnthropicSource? Source { get; init; }
    public string? Id { get; init; }
    public string? Name { get; init; }
    public JsonElement? Input { get; init; }
    public string? ToolUseId { get; init; }
    public IReadOnlyList<AnthropicBlock>? Content { get; init; }
    public bool? IsError { get; init; }
    public string? Thinking { get; init; }
    public string? Signature { get; init; }

    public static AnthropicBlock FromText(string text) => new() { Type = "text", Text = text };
}

/// <summary>Where an image or document comes from: inline <c>base64</c> data, or a <c>url</c> the provider fetches.</summary>
internal sealed record AnthropicSource(string Type, string? MediaType = null, string? Data = null, string? Url = null);

internal sealed record AnthropicTool(string Name, string? Description, JsonElement InputSchema);

internal sealed record AnthropicToolChoice(string Type, string? Name = null, bool? DisableParallelToolUse = null);

internal sealed record AnthropicMetadata(string UserId);

/// <summary>A non-streamed answer (<c>type: message</c>); also the <c>message</c> of a stream's <c>message_start</c>.</summary>
internal sealed record AnthropicResponse
{
    public string? Id { get; init; }
    public string? Type { get; init; }
    public string? Role { get; init; }
    public string? Model { get; init; }
    public IReadOnlyList<AnthropicBlock>? Content { get; init; }
    public string? StopReason { get; init; }
    public string? StopSequence { get; init; }
    public AnthropicUsage? Usage { get; init; }
}

internal sealed record AnthropicUsage
{
    public int? InputTokens { get; init; }
    public int? OutputTokens { get; init; }
    public int? CacheCreationInputTokens { get; init; }
    public int? CacheReadInputTokens { get; init; }
}

/// <summary>
/// One server-sent event of a streamed answer. <c>message_start</c> carries <see cref="Message"/>;
/// <c>content_block_*</c> an <see cref="Index"/> with a <see cref="ContentBlock"/> or a <see cref="Delta"/>;
/// <c>message_delta</c> the stop reason in <see cref="Delta"/> and cumulative <see cref="Usage"/>; <c>error</c> an <see cref="Error"/>.
/// </summary>
internal sealed record AnthropicStreamEvent
{
    public string Type { get; init; } = "";
    public AnthropicResponse? Message { get; init; }
    public int? Index { get; init; }
    public AnthropicBlock? ContentBlock { get; init; }
    public AnthropicDelta? Delta { get; init; }
    public AnthropicUsage? Usage { get; init; }
    public JsonElement? Error { get; init; }
}

internal sealed record AnthropicDelta
{
    public string? Type { get; init; }
    public string? Text { get; init; }
    public string? PartialJson { get; init; }
    public string? Thinking { get; init; }
    public string? StopReason { get; init; }
}

/// <summary>OpenAI's <c>usage.prompt_tokens_details</c>, built here because Anthropic reports cache reads separately.</summary>
internal sealed record PromptTokensDetails(int CachedTokens);

/// <summary>Source-generated JSON for the Messages API: snake_case, nulls omitted.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(AnthropicRequest))]
[JsonSerializable(typeof(AnthropicResponse))]
[JsonSerializable(typeof(AnthropicStreamEvent))]
[JsonSerializable(typeof(PromptTokensDetails))]
internal sealed partial class AnthropicJson : JsonSerializerContext
{
    /// <summary>Like <see cref="Default"/>, but sending non-ASCII text as UTF-8 rather than \u escapes (it only ever travels as JSON).</summary>
    public static AnthropicJson Wire => s_wire ??= new(new JsonSerializerOptions(Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    // Lazy: static initializers in the generated half of this partial class run in no guaranteed order.
    private static AnthropicJson? s_wire;
}
