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
