using System.Text;
using Microsoft.AspNetCore.Http;
using Rampart.OpenAI;
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
}
