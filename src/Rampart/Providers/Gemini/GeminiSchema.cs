using System.Text.Json;
using System.Text.Json.Nodes;

namespace Rampart.Providers.Gemini;

/// <summary>
/// Converts a caller's JSON Schema to Gemini's <c>Schema</c>, an OpenAPI 3.0 subset that answers 400 to any
/// keyword it does not know. A schema converts when every keyword is one Gemini knows or one that can be dropped
/// without changing what the model may produce; otherwise the caller's schema goes as is in Gemini's
/// <c>parametersJsonSchema</c> / <c>responseJsonSchema</c>, so nothing is silently weakened.
/// </summary>
internal static class GeminiSchema
{
    private static readonly HashSet<string> Supported =
    [
        "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties", "required",
        "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf", "propertyOrdering",
        "default", "items", "minimum", "maximum",
    ];

    /// <summary>
    /// Dropped: <c>$schema</c>, <c>$id</c> and <c>$comment</c> are annotations, and <c>additionalProperties: false</c>
    /// (OpenAI's strict mode requires it) is what a Gemini object means anyway: only the declared properties.
    /// </summary>
    private static readonly HashSet<string> Annotations = ["$schema", "$id", "$comment"];

    /// <summary>The formats Gemini accepts; any other (<c>email</c>, <c>uri</c> …) is only a hint and is dropped.</summary>
    private static readonly HashSet<string> Formats = ["enum", "date-time", "float", "double", "int32", "int64"];

    /// <summary>Gemini's form of <paramref name="schema"/>, or null when it cannot be expressed there.</summary>
    public static JsonObject? ToGemini(JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var result = new JsonObject();
        foreach (var property in schema.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case var name when Annotations.Contains(name):
                    continue;
                case "additionalProperties" when value.ValueKind == JsonValueKind.False:
                    continue;
                case "type" when value.ValueKind == JsonValueKind.Array:
                    // ["string", "null"] is OpenAPI's type + nullable; two real types have no OpenAPI form.
                    var types = value.EnumerateArray().Select(t => t.GetString()).ToList();
                    var real = types.Where(t => t != "null").ToList();
                    if (real.Count != 1)
                    {
                        return null;
                    }

                    result["type"] = real[0];
                    if (types.Contains("null"))
                    {
                        result["nullable"] = true;
                    }

                    continue;
                case "format" when value.ValueKind == JsonValueKind.String && !Formats.Contains(value.GetString()!):
                    continue;
                case "enum" when value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String):
                    // Gemini's enums are string-only.
                    return null;
                case "properties":
                    var properties = new JsonObject();
                    foreach (var child in value.EnumerateObject())
                    {
                        if (ToGemini(child.Value) is not { } converted)
                        {
                            return null;
                        }

                        properties[child.Name] = converted;
                    }

                    result["properties"] = properties;
                    continue;
                case "items":
                    if (ToGemini(value) is not { } items)
                    {
                        return null;
                    }

                    result["items"] = items;
                    continue;
                case "anyOf":
                    var options = new JsonArray();
                    foreach (var option in value.EnumerateArray())
                    {
                        if (ToGemini(option) is not { } converted)
                        {
                            return null;
                        }

                        options.Add((JsonNode)converted);
                    }

                    result["anyOf"] = options;
                    continue;
                case var name when Supported.Contains(name):
                    result[name] = JsonNode.Parse(value.GetRawText());
                    continue;
                default:
                    return null;
            }
        }

        return result;
    }

    /// <summary>Parameters worth declaring: Gemini refuses an object schema with no properties, which means "no arguments".</summary>
    public static bool IsEmptyObject(JsonElement schema) =>
        schema.ValueKind == JsonValueKind.Object
        && (!schema.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object || !properties.EnumerateObject().Any())
        && !schema.TryGetProperty("anyOf", out _) && !schema.TryGetProperty("$ref", out _) && !schema.TryGetProperty("oneOf", out _);
}
