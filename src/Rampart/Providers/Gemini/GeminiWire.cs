using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Rampart.Providers.Gemini;

// Gemini's native generateContent contract (v1beta), only the fields Rampart translates.
// Gemini rejects unknown fields, so nothing here carries extension data on the way out.

/// <summary>The body of <c>models/{model}:generateContent</c> and <c>:streamGenerateContent</c>.</summary>
internal sealed record GeminiRequest
{
    public List<GeminiContent> Contents { get; init; } = [];
    public GeminiContent? SystemInstruction { get; init; }
    public List<GeminiTool>? Tools { get; init; }
    public GeminiToolConfig? ToolConfig { get; init; }
    public GeminiGenerationConfig? GenerationConfig { get; init; }
}

/// <summary>One turn: <c>user</c> or <c>model</c> (no role inside <c>systemInstruction</c>).</summary>
internal sealed record GeminiContent
{
    public string? Role { get; init; }
    public List<GeminiPart> Parts { get; init; } = [];
}

/// <summary>A part carries exactly one of text, inline data, file data, a function call or a function response.</summary>
internal sealed record GeminiPart
{
    public string? Text { get; init; }

    /// <summary>True on parts that are the model's thinking, not its answer.</summary>
    public bool? Thought { get; init; }

    /// <summary>Opaque; Gemini 3 requires it back on the function calls of the current turn.</summary>
    public string? ThoughtSignature { get; init; }

    public GeminiBlob? InlineData { get; init; }
    public GeminiFileData? FileData { get; init; }
    public GeminiFunctionCall? FunctionCall { get; init; }
    public GeminiFunctionResponse? FunctionResponse { get; init; }
}

internal sealed record GeminiBlob(string MimeType, string Data);

internal sealed record GeminiFileData
{
    public string? MimeType { get; init; }
    public string FileUri { get; init; } = "";
}

internal sealed record GeminiFunctionCall
{
    public string? Id { get; init; }
    public string Name { get; init; } = "";
    public JsonElement? Args { get; init; }
}

internal sealed record GeminiFunctionResponse(string Name, JsonNode Response);

internal sealed record GeminiTool(List<GeminiFunctionDeclaration> FunctionDeclarations);

internal sealed record GeminiFunctionDeclaration
{
    public string Name { get; init; } = "";
    public string? Description { get; init; }

    /// <summary>Gemini's OpenAPI-subset schema, when the caller's JSON Schema converts to it.</summary>
    public JsonNode? Parameters { get; init; }

    /// <summary>The caller's JSON Schema as is, when it does not convert (e.g. <c>$ref</c>, <c>oneOf</c>).</summary>
    public JsonNode? ParametersJsonSchema { get; init; }
}

internal sealed record GeminiToolConfig(GeminiFunctionCallingConfig FunctionCallingConfig);

internal sealed record GeminiFunctionCallingConfig
{
    public string Mode { get; init; } = "AUTO";
    public List<string>? AllowedFunctionNames { get; init; }
}

internal sealed record GeminiGenerationConfig
{
    public List<string>? StopSequences { get; init; }
    public string? ResponseMimeType { get; init; }
    public JsonNode? ResponseSchema { get; init; }
    public JsonNode? ResponseJsonSchema { get; init; }
    public int? CandidateCount { get; init; }
    public int? MaxOutputTokens { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? Seed { get; init; }
    public double? PresencePenalty { get; init; }
    public double? FrequencyPenalty { get; init; }
}

/// <summary>One answer, or one event of a streamed answer (each event is a whole <c>GenerateContentResponse</c>).</summary>
internal sealed record GeminiResponse
{
    public List<GeminiCandidate>? Candidates { get; init; }
    public GeminiPromptFeedback? PromptFeedback { get; init; }
    public GeminiUsage? UsageMetadata { get; init; }
    public string? ModelVersion { get; init; }
    public string? ResponseId { get; init; }

    /// <summary>An error envelope sent in place of an event in the middle of a stream.</summary>
    public JsonElement? Error { get; init; }
}

internal sealed record GeminiCandidate
{
    public GeminiContent? Content { get; init; }
    public string? FinishReason { get; init; }
    public string? FinishMessage { get; init; }

    /// <summary>Omitted for the first candidate (a proto3 default).</summary>
    public int? Index { get; init; }
}

internal sealed record GeminiPromptFeedback
{
    public string? BlockReason { get; init; }
    public string? BlockReasonMessage { get; init; }
}

internal sealed record GeminiUsage
{
    public int PromptTokenCount { get; init; }
    public int CandidatesTokenCount { get; init; }
    public int ThoughtsTokenCount { get; init; }
    public int ToolUsePromptTokenCount { get; init; }
    public int CachedContentTokenCount { get; init; }
    public int TotalTokenCount { get; init; }
}

/// <summary>Source-generated JSON for Gemini's camelCase wire format.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GeminiRequest))]
[JsonSerializable(typeof(GeminiResponse))]
[JsonSerializable(typeof(Dictionary<string, Dictionary<string, string>>))]
[JsonSerializable(typeof(Dictionary<string, int>))]
internal sealed partial class GeminiJson : JsonSerializerContext;
