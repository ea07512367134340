using System.Text.Json;

namespace Rampart.OpenAI;

/// <summary>
/// Reads one <c>chat.completion.chunk</c> event straight off its bytes. A stream's events are read tens of thousands
/// of times a second, and through the serializer each one paid for its per-call state (a stack of frames for the four
/// levels chunk → choices → choice → delta, ≈ 1 KB) and its metadata-driven dispatch: more than half of relaying an
/// event. This reads exactly what the serializer with <see cref="OpenAIJson"/>'s options reads — names matched
/// case-insensitively, numbers strict, a repeated field refused, unknown fields kept in <c>Extra</c>, trailing content
/// refused — and hands the rare nested parts (tool calls, usage) to the serializer. A property test compares the two
/// on thousands of generated and damaged events.
/// </summary>
internal static class ChunkReader
{
    private static readonly Fields ChunkFields = new("id", "object", "created", "model", "choices", "usage", "system_fingerprint", "service_tier");
    private static readonly Fields ChoiceFields = new("index", "delta", "finish_reason", "logprobs");
    private static readonly Fields DeltaFields = new("role", "content", "tool_calls", "refusal", "reasoning_content");

    /// <param name="previous">
    /// The stream's previous chunk: its id, model and fingerprint strings are used again when this chunk has the same
    /// text, as nearly every chunk of a stream does, instead of allocating them again.
    /// </param>
    /// <exception cref="JsonException">The bytes are not one chunk as the serializer would read it.</exception>
    public static ChatCompletionChunk? Read(ReadOnlySpan<byte> json, ChatCompletionChunk? previous = null)
    {
        var reader = new Utf8JsonReader(json);
        try
        {
            Next(ref reader);
            var chunk = reader.TokenType == JsonTokenType.Null ? null : ReadChunk(ref reader, previous);
            if (reader.Read())
            {
                throw new JsonException("Unexpected content after the chunk.");
            }

            return chunk;
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            throw new JsonException(ex.Message, ex);
        }
    }

    private static ChatCompletionChunk ReadChunk(ref Utf8JsonReader reader, ChatCompletionChunk? previous)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        var chunk = new ChatCompletionChunk();
        var seen = 0;
        while (NextProperty(ref reader, ChunkFields, ref seen, out var field, out var name))
        {
            switch (field)
            {
                case 0: chunk.Id = Repeated(ref reader, previous?.Id)!; break;
                case 1: chunk.Object = Repeated(ref reader, ChunkObject)!; break;
                case 2: chunk.Created = Number(ref reader, out long created) ? created : throw Mismatch(ref reader); break;
                case 3: chunk.Model = Repeated(ref reader, previous?.Model)!; break;
                case 4: chunk.Choices = Choices(ref reader)!; break;
                case 5: chunk.Usage = JsonSerializer.Deserialize(ref reader, OpenAIJson.Wire.Usage); break;
                case 6: chunk.SystemFingerprint = Repeated(ref reader, previous?.SystemFingerprint); break;
                case 7: chunk.ServiceTier = Repeated(ref reader, previous?.ServiceTier); break;
                default: chunk.Extra = Extra(ref reader, chunk.Extra, name!); break;
            }
        }

        return chunk;
    }

    private static List<ChunkChoice>? Choices(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartArray);
        var choices = new List<ChunkChoice>(1);
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return choices;
            }

            choices.Add(reader.TokenType == JsonTokenType.Null ? null! : Choice(ref reader));
        }
    }

    private static ChunkChoice Choice(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        var choice = new ChunkChoice();
        var seen = 0;
        while (NextProperty(ref reader, ChoiceFields, ref seen, out var field, out var name))
        {
            switch (field)
            {
                case 0: choice.Index = Number(ref reader, out int index) ? index : throw Mismatch(ref reader); break;
                case 1: choice.Delta = reader.TokenType == JsonTokenType.Null ? null! : Delta(ref reader); break;
                case 2: choice.FinishReason = String(ref reader); break;
                case 3: choice.Logprobs = reader.TokenType == JsonTokenType.Null ? null : JsonElement.ParseValue(ref reader); break;
                default: choice.Extra = Extra(ref reader, choice.Extra, name!); break;
            }
        }

        return choice;
    }

    private static ChatDelta Delta(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        var delta = new ChatDelta();
        var seen = 0;
        while (NextProperty(ref reader, DeltaFields, ref seen, out var field, out var name))
        {
            switch (field)
            {
                case 0: delta.Role = String(ref reader); break;
                case 1: delta.Content = String(ref reader); break;
                case 2: delta.ToolCalls = JsonSerializer.Deserialize(ref reader, OpenAIJson.Wire.IReadOnlyListToolCallDelta); break;
                case 3: delta.Refusal = String(ref reader); break;
                case 4: delta.ReasoningContent = String(ref reader); break;
                default: delta.Extra = Extra(ref reader, delta.Extra, name!); break;
            }
        }

        return delta;
    }

    /// <summary>
    /// Moves to the next property's value: false at the end of the object. <paramref name="field"/> is its index in
    /// <paramref name="fields"/> (matched exactly, then ignoring case, as the serializer does), or -1 with its
    /// <paramref name="name"/> for an unknown one.
    /// </summary>
    private static bool NextProperty(ref Utf8JsonReader reader, Fields fields, ref int seen, out int field, out string? name)
    {
        Next(ref reader);
        if (reader.TokenType == JsonTokenType.EndObject)
        {
            field = -1;
            name = null;
            return false;
        }

        field = fields.Find(ref reader);
        name = field < 0 ? reader.GetString()! : null;
        field = field < 0 ? fields.FindIgnoringCase(name!) : field;
        if (field >= 0)
        {
            if ((seen & (1 << field)) != 0)
            {
                throw new JsonException($"Duplicate property '{fields.Names[field]}'.");
            }

            seen |= 1 << field;
        }

        Next(ref reader);
        return true;
    }

    private static Dictionary<string, JsonElement> Extra(ref Utf8JsonReader reader, Dictionary<string, JsonElement>? extra, string name)
    {
        extra ??= [];
        if (!extra.TryAdd(name, JsonElement.ParseValue(ref reader)))
        {
            throw new JsonException($"Duplicate property '{name}'.");
        }

        return extra;
    }

    private const string ChunkObject = "chat.completion.chunk";

    /// <summary>The string value, as <paramref name="known"/> itself when it has the same text.</summary>
    private static string? Repeated(ref Utf8JsonReader reader, string? known) =>
        known is not null && reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(known) ? known : String(ref reader);

    private static string? String(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Null => null,
        JsonTokenType.String => reader.GetString(),
        _ => throw Mismatch(ref reader),
    };

    private static bool Number(ref Utf8JsonReader reader, out long value)
    {
        value = 0;
        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out value);
    }

    private static bool Number(ref Utf8JsonReader reader, out int value)
    {
        value = 0;
        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out value);
    }

    private static void Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("The chunk ends early.");
        }
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType token)
    {
        if (reader.TokenType != token)
        {
            throw Mismatch(ref reader);
        }
    }

    private static JsonException Mismatch(ref Utf8JsonReader reader) =>
        new($"Unexpected {reader.TokenType} at byte {reader.TokenStartIndex} of the chunk.");

    /// <summary>The fields of one object, in the order its reader numbers them.</summary>
    private sealed class Fields(params string[] names)
    {
        private readonly byte[][] _utf8 = [.. names.Select(System.Text.Encoding.UTF8.GetBytes)];

        public string[] Names => names;

        public int Find(ref Utf8JsonReader reader)
        {
            for (var i = 0; i < _utf8.Length; i++)
            {
                if (reader.ValueTextEquals(_utf8[i]))
                {
                    return i;
                }
            }

            return -1;
        }

        public int FindIgnoringCase(string name) => Array.FindIndex(names, n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));
    }
}
