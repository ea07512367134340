using System.Text;
using Microsoft.AspNetCore.Http;
using Rampart.OpenAI;
using Rampart.Providers.OpenAICompatible;
using Rampart.Streaming;

namespace Rampart.Tests.Unit;

public sealed class SseWriterTests
{
    [Fact]
    public async Task Event_CarriesNonAsciiTextAsUtf8_LikeTheNonStreamedAnswer()
    {
        var http = new DefaultHttpContext();
        using var body = new MemoryStream();
        http.Response.Body = body;
        using var sse = new SseWriter(http.Response);

        await sse.WriteAsync(new ChatCompletionChunk
        {
            Id = "chatcmpl-1",
            Model = "m",
            Choices = [new ChunkChoice { Index = 0, Delta = new ChatDelta { Content = "Café <b> \"naïve\" 東京" } }],
        }, CancellationToken.None);

        var text = Encoding.UTF8.GetString(body.ToArray());
        Assert.StartsWith("data: {", text, StringComparison.Ordinal);
        Assert.EndsWith("}\n\n", text, StringComparison.Ordinal);
        Assert.Contains("\"content\":\"Café <b> \\\"naïve\\\" 東京\"", text, StringComparison.Ordinal);
    }

    private const string PythonEvent =
        """{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "caf\u00e9"}, "finish_reason": null}]}""";

    [Fact]
    public async Task ChunkAsReceived_GoesOutAsTheProvidersBytes()
    {
        var chunk = OpenAICompatibleProvider.ReadChunk(Encoding.UTF8.GetBytes(PythonEvent))!;

        Assert.Equal("data: " + PythonEvent + "\n\n", await WrittenAsync(chunk));
    }

    [Fact]
    public async Task RewrittenCopy_IsSerialisedAfresh_NeverSentAsTheProvidersBytes()
    {
        var received = OpenAICompatibleProvider.ReadChunk(Encoding.UTF8.GetBytes(PythonEvent))!;
        var rewritten = received with { Choices = [received.Choices[0] with { Delta = new ChatDelta { Content = "tea" } }] };
        var unchanged = received with { };

        Assert.False(received.Upstream.IsEmpty);
        Assert.True(rewritten.Upstream.IsEmpty);
        Assert.True(unchanged.Upstream.IsEmpty);
        var text = await WrittenAsync(rewritten);
        Assert.Contains("\"content\":\"tea\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("caf", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"id\": \"a\",\n \"choices\": []}")]
    [InlineData("{\"id\": \"a\",\r \"choices\": []}")]
    public void EventJsonOverSeveralLines_IsNotKept(string json)
    {
        var chunk = OpenAICompatibleProvider.ReadChunk(Encoding.UTF8.GetBytes(json))!;

        Assert.Equal("a", chunk.Id);
        Assert.True(chunk.Upstream.IsEmpty);
    }

    [Fact]
    public void InvalidUtf8InAValueTheReaderDoesNotDecode_IsNotKept()
    {
        // An unknown field's string is kept as a JsonElement, undecoded: the parser lets the stray 0xFF byte through.
        byte[] json = [.. "{\"id\":\"a\",\"choices\":[],\"x\":\""u8, 0xFF, .. "\"}"u8];

        var chunk = OpenAICompatibleProvider.ReadChunk(json)!;

        Assert.True(chunk.Extra!.ContainsKey("x"));
        Assert.True(chunk.Upstream.IsEmpty);
        Assert.True(UpstreamJson.Keep(json, oneLine: false).IsEmpty);
    }

    private static async Task<string> WrittenAsync(ChatCompletionChunk chunk)
    {
        var http = new DefaultHttpContext();
        using var body = new MemoryStream();
        http.Response.Body = body;
        using var sse = new SseWriter(http.Response);
        await sse.WriteAsync(chunk, CancellationToken.None);
        return Encoding.UTF8.GetString(body.ToArray());
    }
}
