using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Rampart.OpenAI;

/// <summary>Reads and writes <see cref="MessageContent"/> as OpenAI does: a string or an array of parts.</summary>
internal sealed class MessageContentConverter : JsonConverter<MessageContent>
{
    public override MessageContent? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return new MessageContent { Text = reader.GetString() };
            case JsonTokenType.StartArray:
                var parts = JsonSerializer.Deserialize(ref reader, PartsTypeInfo(options));
                return new MessageContent { Parts = parts ?? [] };
            default:
                throw new InvalidShapeException("must be a string or an array of content parts");
        }
    }

    public override void Write(Utf8JsonWriter writer, MessageContent value, JsonSerializerOptions options)
    {
        if (value.Parts is { } parts)
        {
            JsonSerializer.Serialize(writer, parts, PartsTypeInfo(options));
        }
        else
        {
            writer.WriteStringValue(value.Text);
        }
    }

    private static JsonTypeInfo<IReadOnlyList<ContentPart>> PartsTypeInfo(JsonSerializerOptions options) =>
        (JsonTypeInfo<IReadOnlyList<ContentPart>>)options.GetTypeInfo(typeof(IReadOnlyList<ContentPart>));
}
