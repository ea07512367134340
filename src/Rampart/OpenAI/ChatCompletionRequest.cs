using System.Text.Json;
using System.Text.Json.Serialization;

namespace Rampart.OpenAI;

// The wire records have settable, not init-only, properties on purpose: for init-only members the source-generated
// deserializer buffers every value and then calls a constructor (and a type with more than four of them takes the
// slower "large object" path): 3–8 % of the CPU of a streamed answer in interleaved runs (docs/benchmarks.md).
// Code treats them as immutable all the same and changes them only through `with`.

/// <summary>
/// The body of <c>POST /chat/completions</c>: OpenAI's schema plus Rampart's <c>pii</c>,
/// <c>web_search</c> and <c>system</c>. Fields Rampart does not model travel in <see cref="Extra"/>
/// so that the provider sees them unchanged.
/// </summary>
internal sealed record ChatCompletionRequest
{
    public string? Model { get; set; }
    public IReadOnlyList<ChatMessage>? Messages { get; set; }
    public bool? Stream { get; set; }
    public StreamOptions? StreamOptions { get; set; }
    public double? Temperature { get; set; }
    public double? TopP { get; set; }
    public int? N { get; set; }
    public int? MaxTokens { get; set; }
    public int? MaxCompletionTokens { get; set; }
    public JsonElement? Stop { get; set; }
    public double? PresencePenalty { get; set; }
    public double? FrequencyPenalty { get; set; }
    public JsonElement? LogitBias { get; set; }
    public bool? Logprobs { get; set; }
    public int? TopLogprobs { get; set; }
    public long? Seed { get; set; }
    public string? User { get; set; }
    public IReadOnlyList<ToolDefinition>? Tools { get; set; }
    public JsonElement? ToolChoice { get; set; }
    public bool? ParallelToolCalls { get; set; }
    public JsonElement? ResponseFormat { get; set; }

    // Rampart's own fields; never forwarded to a provider.
    public string? Pii { get; set; }
    public bool? WebSearch { get; set; }
    public string? System { get; set; }

    /// <summary>Ask for obfuscated PII to be restored in the answer, where the workspace allows it.</summary>
    public bool? PiiRestore { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    [JsonIgnore]
    public bool IsStreaming => Stream == true;

    [JsonIgnore]
    public bool IncludeUsageInStream => StreamOptions?.IncludeUsage == true;
}

internal sealed record StreamOptions
{
    public bool? IncludeUsage { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>One message of the conversation; the same shape serves requests and responses.</summary>
internal sealed record ChatMessage
{
    public string? Role { get; set; }
    public MessageContent? Content { get; set; }
    public string? Name { get; set; }
    public IReadOnlyList<ToolCall>? ToolCalls { get; set; }
    public string? ToolCallId { get; set; }
    public string? Refusal { get; set; }

    /// <summary>DeepSeek's chain of thought, passed through where the provider sends it.</summary>
    public string? ReasoningContent { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    public static ChatMessage FromText(string role, string text) => new() { Role = role, Content = MessageContent.FromText(text) };
}

/// <summary>Message content: either a plain string or an array of typed parts.</summary>
[JsonConverter(typeof(MessageContentConverter))]
internal sealed record MessageContent
{
    public string? Text { get; set; }
    public IReadOnlyList<ContentPart>? Parts { get; set; }

    public static MessageContent FromText(string text) => new() { Text = text };

    /// <summary>All text the content carries (string content or the text of text parts), joined by newlines.</summary>
    public string JoinedText() => Text ?? string.Join('\n', Parts?.Where(p => p.Text is not null).Select(p => p.Text) ?? []);
}

internal sealed record ContentPart
{
    public string? Type { get; set; }
    public string? Text { get; set; }
    public string? Refusal { get; set; }
    public JsonElement? ImageUrl { get; set; }
    public JsonElement? InputAudio { get; set; }
    public JsonElement? File { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record ToolDefinition
{
    public string? Type { get; set; }
    public FunctionDefinition? Function { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record FunctionDefinition
{
    public string? Name { get; set; }
    public string? Description { get; set; }
    public JsonElement? Parameters { get; set; }
    public bool? Strict { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record ToolCall
{
    public string? Id { get; set; }
    public string? Type { get; set; }
    public FunctionCall? Function { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record FunctionCall
{
    public string? Name { get; set; }
    public string? Arguments { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}
