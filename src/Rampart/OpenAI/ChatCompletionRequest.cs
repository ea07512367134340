using System.Text.Json;
using System.Text.Json.Serialization;

namespace Rampart.OpenAI;

/// <summary>
/// The body of <c>POST /chat/completions</c>: OpenAI's schema plus Rampart's <c>pii</c>,
/// <c>web_search</c> and <c>system</c>. Fields Rampart does not model travel in <see cref="Extra"/>
/// so that the provider sees them unchanged.
/// </summary>
internal sealed record ChatCompletionRequest
{
    public string? Model { get; init; }
    public IReadOnlyList<ChatMessage>? Messages { get; init; }
    public bool? Stream { get; init; }
    public StreamOptions? StreamOptions { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? N { get; init; }
    public int? MaxTokens { get; init; }
    public int? MaxCompletionTokens { get; init; }
    public JsonElement? Stop { get; init; }
    public double? PresencePenalty { get; init; }
    public double? FrequencyPenalty { get; init; }
    public JsonElement? LogitBias { get; init; }
    public bool? Logprobs { get; init; }
    public int? TopLogprobs { get; init; }
    public long? Seed { get; init; }
    public string? User { get; init; }
    public IReadOnlyList<ToolDefinition>? Tools { get; init; }
    public JsonElement? ToolChoice { get; init; }
    public bool? ParallelToolCalls { get; init; }
    public JsonElement? ResponseFormat { get; init; }

    // Rampart's own fields; never forwarded to a provider.
    public string? Pii { get; init; }
    public bool? WebSearch { get; init; }
    public string? System { get; init; }

    /// <summary>Ask for obfuscated PII to be restored in the answer, where the workspace allows it.</summary>
    public bool? PiiRestore { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    [JsonIgnore]
    public bool IsStreaming => Stream == true;

    [JsonIgnore]
    public bool IncludeUsageInStream => StreamOptions?.IncludeUsage == true;
}

internal sealed record StreamOptions
{
    public bool? IncludeUsage { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>One message of the conversation; the same shape serves requests and responses.</summary>
internal sealed record ChatMessage
{
    public string? Role { get; init; }
    public MessageContent? Content { get; init; }
    public string? Name { get; init; }
    public IReadOnlyList<ToolCall>? ToolCalls { get; init; }
    public string? ToolCallId { get; init; }
    public string? Refusal { get; init; }

    /// <summary>DeepSeek's chain of thought, passed through where the provider sends it.</summary>
    public string? ReasoningContent { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    public static ChatMessage FromText(string role, string text) => new() { Role = role, Content = MessageContent.FromText(text) };
}

/// <summary>Message content: either a plain string or an array of typed parts.</summary>
[JsonConverter(typeof(MessageContentConverter))]
internal sealed record MessageContent
{
    public string? Text { get; init; }
    public IReadOnlyList<ContentPart>? Parts { get; init; }

    public static MessageContent FromText(string text) => new() { Text = text };

    /// <summary>All text the content carries (string content or the text of text parts), joined by newlines.</summary>
    public string JoinedText() => Text ?? string.Join('\n', Parts?.Where(p => p.Text is not null).Select(p => p.Text) ?? []);
}

internal sealed record ContentPart
{
    public string? Type { get; init; }
    public string? Text { get; init; }
    public string? Refusal { get; init; }
    public JsonElement? ImageUrl { get; init; }
    public JsonElement? InputAudio { get; init; }
    public JsonElement? File { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record ToolDefinition
{
    public string? Type { get; init; }
    public FunctionDefinition? Function { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record FunctionDefinition
{
    public string? Name { get; init; }
    public string? Description { get; init; }
    public JsonElement? Parameters { get; init; }
    public bool? Strict { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record ToolCall
{
    public string? Id { get; init; }
    public string? Type { get; init; }
    public FunctionCall? Function { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

internal sealed record FunctionCall
{
    public string? Name { get; init; }
    public string? Arguments { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}
