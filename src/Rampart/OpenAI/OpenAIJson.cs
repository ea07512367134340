using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Rampart.Workspaces;

namespace Rampart.OpenAI;

/// <summary>
/// Source-generated JSON for everything on the wire and in the database: no reflection on the hot path.
/// snake_case like OpenAI; nulls omitted except where the contract shows them.
/// </summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict,
    AllowDuplicateProperties = false)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(IReadOnlyList<ContentPart>))]
[JsonSerializable(typeof(OpenAIErrorEnvelope))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelInfo))]
[JsonSerializable(typeof(WorkspacePolicy))]
internal sealed partial class OpenAIJson : JsonSerializerContext
{
    /// <summary>
    /// The context to use for everything Rampart writes: like <see cref="Default"/>, but emitting UTF-8 text as is
    /// (as OpenAI does) instead of \u-escaping quotes, '&lt;' and non-ASCII letters. Safe because it is only ever
    /// served as <c>application/json</c> or <c>text/event-stream</c>, never inside HTML.
    /// </summary>
    public static OpenAIJson Wire => s_wire ??= new(new JsonSerializerOptions(Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    /// <summary>
    /// A workspace policy as people write it (<c>rampart workspaces set-policy</c>'s file, the dashboard's policy form): the
    /// same contract as stored policies, but a field the policy does not have is an error, so a typo ("blocked_topic") is
    /// not silently ignored. Fields left out keep their defaults.
    /// </summary>
    public static OpenAIJson StrictPolicy => s_strictPolicy ??= new(new JsonSerializerOptions(Wire.Options) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow });

    /// <summary>A workspace policy as shown to people: indented.</summary>
    public static OpenAIJson IndentedPolicy => s_indentedPolicy ??= new(new JsonSerializerOptions(Wire.Options) { WriteIndented = true });

    // Lazy: static initializers in the generated half of this partial class run in no guaranteed order.
    private static OpenAIJson? s_wire;
    private static OpenAIJson? s_strictPolicy;
    private static OpenAIJson? s_indentedPolicy;
}
