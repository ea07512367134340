using System.Text.Json;
using System.Text.Json.Serialization;

namespace Rampart.OpenAI;

// Settable rather than init-only properties, on purpose: see the note at the top of ChatCompletionRequest.cs.

/// <summary>A non-streamed answer (<c>object: chat.completion</c>).</summary>
internal sealed record ChatCompletion
{
    public string Id { get; set; } = "";
    public string Object { get; set; } = "chat.completion";
    public long Created { get; set; }
    public string Model { get; set; } = "";
    public IReadOnlyList<ChatChoice> Choices { get; set; } = [];
    public Usage? Usage { get; set; }
    public string? SystemFingerprint { get; set; }
    public string? ServiceTier { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    private UpstreamJson _upstream;

    /// <summary>
    /// The provider's own JSON for this answer, when it came in OpenAI's format: sent on as it came when nothing rewrote
    /// the answer, instead of being serialised again. A copy made with <c>with</c> has none (see <see cref="OpenAI.UpstreamJson"/>).
    /// </summary>
    [JsonIgnore]
    public ReadOnlyMemory<byte> Upstream { get => _upstream.For(this); set => _upstream = new(this, value); }
}

internal sealed record ChatChoice
{
    public int Index { get; set; }
    public ChatMessage Message { get; set; } = new();
    public string? FinishReason { get; set; }
    public JsonElement? Logprobs { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>One server-sent event of a streamed answer (<c>object: chat.completion.chunk</c>).</summary>
internal sealed record ChatCompletionChunk
{
    public string Id { get; set; } = "";
    public string Object { get; set; } = "chat.completion.chunk";
    public long Created { get; set; }
    public string Model { get; set; } = "";
    public IReadOnlyList<ChunkChoice> Choices { get; set; } = [];
    public Usage? Usage { get; set; }
    public string? SystemFingerprint { get; set; }
    public string? ServiceTier { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    private UpstreamJson _upstream;

    /// <summary>
    /// The provider's own JSON for this event, when it came in OpenAI's format, on one line: sent on as it came when
    /// nothing rewrote the event. A copy made with <c>with</c> has none (see <see cref="OpenAI.UpstreamJson"/>).
    /// </summary>
    [JsonIgnore]
    public ReadOnlyMemory<byte> Upstream { get => _upstream.For(this); set => _upstream = new(this, value); }
}

internal sealed record ChunkChoice
{
    public int Index { get; set; }
    public ChatDelta Delta { get; set; } = new();
    public string? FinishReason { get; set; }
    public JsonElement? Logprobs { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record ChatDelta
{
    public string? Role { get; set; }
    public string? Content { get; set; }
    public IReadOnlyList<ToolCallDelta>? ToolCalls { get; set; }
    public string? Refusal { get; set; }
    public string? ReasoningContent { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record ToolCallDelta
{
    public int Index { get; set; }
    public string? Id { get; set; }
    public string? Type { get; set; }
    public FunctionCall? Function { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record Usage
{
    public int PromptTokens { get; set; }
    public int CompletionTokens { get; set; }
    public int TotalTokens { get; set; }

    /// <summary><c>prompt_tokens_details</c>, <c>completion_tokens_details</c> and provider extras, passed through.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>
/// A provider's JSON kept with the object read from it, together with that object: a record's <c>with</c> copies every
/// field, this one too, but the copy is not the owner, so it reads as having no JSON and is serialised afresh. Nothing
/// sets a property of an answer in place (they are settable only for the JSON reader); if something ever did, it would
/// have to clear <c>Upstream</c> as well.
/// </summary>
internal readonly struct UpstreamJson(object owner, ReadOnlyMemory<byte> json)
{
    private readonly object? _owner = owner;

    public ReadOnlyMemory<byte> For(object self) => ReferenceEquals(_owner, self) ? json : default;

    /// <summary>
    /// <paramref name="json"/> if it may go out as it is: valid UTF-8 (the parser lets invalid bytes through inside
    /// values it does not decode) and, for a server-sent event, without a line break, which would end the <c>data:</c>
    /// line. Empty otherwise, and the object is serialised afresh.
    /// </summary>
    public static ReadOnlyMemory<byte> Keep(ReadOnlyMemory<byte> json, bool oneLine) =>
        (!oneLine || json.Span.IndexOfAny((byte)'\r', (byte)'\n') < 0) && System.Text.Unicode.Utf8.IsValid(json.Span) ? json : default;
}

internal sealed record ModelList(string Object, IReadOnlyList<ModelInfo> Data);

/// <summary>A workspace shown as a model, exactly in the shape of the seed's examples.</summary>
internal sealed record ModelInfo(
    string Id,
    string Object,
    long Created,
    string OwnedBy,
    string Root,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Parent,
    IReadOnlyList<JsonElement> Permission);
