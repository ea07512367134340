using System.Text;
using System.Text.Json;
using Rampart.OpenAI;

namespace Rampart.Tests.Unit;

/// <summary>
/// The hand-written chunk reader must read exactly what the serializer reads: the same object for every event it
/// accepts, and a <see cref="JsonException"/> for every event it refuses. Compared on generated events — known and
/// unknown fields at every level, names in other cases or escaped, repeated fields, values of the wrong type, numbers
/// out of range — and on damaged ones (cut short, a byte inserted, content after the object).
/// </summary>
public sealed class ChunkReaderTests
{
    [Fact]
    public void ReadsWhatTheSerializerReads_OnGeneratedAndDamagedEvents()
    {
        var accepted = 0;
        var refused = 0;
        ChatCompletionChunk? previous = null;
        for (var seed = 0; seed < 6000; seed++)
        {
            var json = new EventGenerator(new Random(seed)).Event();
            var expected = Outcome(() => JsonSerializer.Deserialize(Encoding.UTF8.GetBytes(json), OpenAIJson.Wire.ChatCompletionChunk));
            var actual = Outcome(() => ChunkReader.Read(Encoding.UTF8.GetBytes(json)));
            // And after another event, whose strings it may take again when they are the same text.
            var afterPrevious = Outcome(() => ChunkReader.Read(Encoding.UTF8.GetBytes(json), previous));
            Assert.True(expected == actual, $"seed {seed}: {json}\nserializer: {expected}\nreader:     {actual}");
            Assert.True(expected == afterPrevious, $"seed {seed} after {previous}: {json}\nserializer: {expected}\nreader:     {afterPrevious}");
            try
            {
                previous = ChunkReader.Read(Encoding.UTF8.GetBytes(json)) ?? previous;
            }
            catch (JsonException)
            {
            }

            if (expected == Refused)
            {
                refused++;
            }
            else
            {
                accepted++;
            }
        }

        // Both kinds must really be exercised.
        Assert.InRange(accepted, 1500, 6000);
        Assert.InRange(refused, 1500, 6000);
    }

    [Fact]
    public void ReadsOpenAIsContentEvent_KeepingUnknownFieldsInOrder()
    {
        var chunk = ChunkReader.Read(
            """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":" caf\u00e9","x":1},"logprobs":null,"finish_reason":null}],"obfuscation":"aB3","usage":null}"""u8)!;

        Assert.Equal("chatcmpl-1", chunk.Id);
        Assert.Equal(1741569952, chunk.Created);
        Assert.Equal("default", chunk.ServiceTier);
        Assert.Equal(" café", Assert.Single(chunk.Choices).Delta.Content);
        Assert.Equal(["x"], chunk.Choices[0].Delta.Extra!.Keys);
        Assert.Equal(["obfuscation"], chunk.Extra!.Keys);
        Assert.Null(chunk.Usage);
    }

    [Fact]
    public void AStreamsRepeatedStrings_AreTakenFromThePreviousChunk_OthersRead()
    {
        var first = ChunkReader.Read("""{"id":"chatcmpl-1","model":"gpt-4.1","system_fingerprint":"fp_1","choices":[]}"""u8)!;
        var second = ChunkReader.Read("""{"id":"chatcmpl-1","model":"gpt-4.1","system_fingerprint":"fp_2","choices":[]}"""u8, first)!;

        Assert.Same(first.Id, second.Id);
        Assert.Same(first.Model, second.Model);
        Assert.Equal("fp_2", second.SystemFingerprint);
    }

    private const string Refused = "refused";

    private static string Outcome(Func<ChatCompletionChunk?> read)
    {
        try
        {
            return read() is { } chunk ? JsonSerializer.Serialize(chunk, OpenAIJson.Wire.ChatCompletionChunk) : "null";
        }
        catch (JsonException)
        {
            return Refused;
        }
    }

    private sealed class EventGenerator(Random random)
    {
        private static readonly string[] ChunkNames = ["id", "object", "created", "model", "choices", "usage", "system_fingerprint", "service_tier"];
        private static readonly string[] ChoiceNames = ["index", "delta", "finish_reason", "logprobs"];
        private static readonly string[] DeltaNames = ["role", "content", "tool_calls", "refusal", "reasoning_content"];
        private static readonly string[] Unknown = ["obfuscation", "x_groq", "provider", "citations", "native_finish_reason", "Choices2"];

        public string Event()
        {
            var json = Chance(0.02) ? "null" : Object(ChunkNames, Chunk);
            return Chance(0.15) ? Damage(json) : json;
        }

        private string Object(string[] known, Func<string, string> value)
        {
            var names = known.Where(_ => Chance(0.7)).Concat(Unknown.Where(_ => Chance(0.08))).OrderBy(_ => random.Next()).ToList();
            if (names.Count > 0 && Chance(0.05))
            {
                names.Add(names[random.Next(names.Count)]);
            }

            return "{" + string.Join(",", names.Select(n => Name(n) + ":" + value(n))) + "}";
        }

        private string Name(string name)
        {
            if (Chance(0.05))
            {
                name = name.ToUpperInvariant();
            }
            else if (Chance(0.04))
            {
                return "\"\\u" + ((int)name[0]).ToString("x4") + name[1..] + "\"";
            }

            return "\"" + name + "\"";
        }

        private string Chunk(string name) => Chance(0.08) ? Any() : name switch
        {
            "created" => Integer(long.MaxValue),
            "choices" => Chance(0.05) ? "null" : "[" + string.Join(",", Enumerable.Range(0, random.Next(0, 3)).Select(_ => Chance(0.05) ? "null" : Object(ChoiceNames, Choice))) + "]",
            "usage" => Chance(0.3) ? "null" : """{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0}}""",
            _ => Text(),
        };

        private string Choice(string name) => Chance(0.08) ? Any() : name switch
        {
            "index" => Integer(int.MaxValue),
            "delta" => Chance(0.05) ? "null" : Object(DeltaNames, Delta),
            "logprobs" => Chance(0.5) ? "null" : """{"content":[{"token":"a","logprob":-0.1,"bytes":[97],"top_logprobs":[]}]}""",
            _ => Text(),
        };

        private string Delta(string name) => Chance(0.08) ? Any() : name switch
        {
            "tool_calls" => Chance(0.2) ? "null" : """[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]""",
            _ => Text(),
        };

        private string Integer(long max) => random.Next(8) switch
        {
            0 => (max + 1m).ToString(System.Globalization.CultureInfo.InvariantCulture),
            1 => "1.5",
            2 => "\"7\"",
            3 => "-3",
            4 => "1e3",
            _ => random.Next(0, 2_000_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };

        private string Text() => random.Next(7) switch
        {
            0 => "null",
            1 => "\"\"",
            2 => "\"caf\\u00e9 \\\"quoted\\\" \\n line\"",
            3 => "\"東京 🙂\"",
            _ => "\"word" + random.Next(100) + " \"",
        };

        private string Any() => random.Next(7) switch
        {
            0 => "null",
            1 => "true",
            2 => "42",
            3 => "\"text\"",
            4 => "[1,\"a\",null]",
            5 => """{"k":{"n":[null,{}]}}""",
            _ => "-0.5e-3",
        };

        private string Damage(string json) => random.Next(4) switch
        {
            0 => json[..random.Next(json.Length)],
            1 => json.Insert(random.Next(json.Length), "\"}],:{x"[random.Next(7)].ToString()),
            2 => json + (Chance(0.5) ? " {}" : "x"),
            _ => json + " \r\n\t",
        };

        private bool Chance(double p) => random.NextDouble() < p;
    }
}
