using System.Text.Json;
using System.Text.Json.Serialization;

namespace Rampart.OpenAI;

/// <summary>A non-streamed answer (<c>object: chat.completion</c>).</summary>
internal sealed record ChatCompletion
{
    public string Id { get; init; } = "";
    public string Object { get; init; } = "chat.completion";
    public long Created { get; init; }
    public string Model { get; init; } = "";
    public IReadOnlyList<ChatChoice> Choices { get; init; } = [];
    public Usage? Usage { get; init; }
    public string? SystemFingerprint { get; init; }
    public string? ServiceTier { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record ChatChoice
{
    public int Index { get; init; }
    public ChatMessage Message { get; init; } = new();
    public string? FinishReason { get; init; }
    public JsonElement? Logprobs { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>One server-sent event of a streamed answer (<c>object: chat.completion.chunk</c>).</summary>
internal sealed record ChatCompletionChunk
{
    public string Id { get; init; } = "";
    public string Object { get; init; } = "chat.completion.chunk";
    public long Created { get; init; }
    public string Model { get; init; } = "";
    public IReadOnlyList<ChunkChoice> Choices { get; init; } = [];
    public Usage? Usage { get; init; }
    public string? SystemFingerprint { get; init; }
    public string? ServiceTier { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record ChunkChoice
{
    public int Index { get; init; }
    public ChatDelta Delta { get; init; } = new();
    public string? FinishReason { get; init; }
    public JsonElement? Logprobs { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record ChatDelta
{
    public string? Role { get; init; }
    public string? Content { get; init; }
    public IReadOnlyList<ToolCallDelta>? ToolCalls { get; init; }
    public string? Refusal { get; init; }
    public string? ReasoningContent { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record ToolCallDelta
{
    public int Index { get; init; }
    public string? Id { get; init; }
    public string? Type { get; init; }
    public FunctionCall? Function { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record Usage
{
    public int PromptTokens { get; init; }
    public int CompletionTokens { get; init; }
    public int TotalTokens { get; init; }

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
