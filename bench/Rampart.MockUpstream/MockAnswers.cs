using System.Text;

namespace Rampart.MockUpstream;

/// <summary>Every answer the mock sends, encoded once at start-up so that a request costs almost nothing.</summary>
internal sealed class MockAnswers
{
    public MockAnswers(int chunks)
    {
        Completion = Encoding.UTF8.GetBytes(
            """{"id":"chatcmpl-mock","object":"chat.completion","created":1700000000,"model":"mock","choices":[{"index":0,"message":{"role":"assistant","content":"This is the mock upstream answering. It says the same thing every time, quickly."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":16,"total_tokens":28}}""");

        const string Head = """data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","created":1700000000,"model":"mock","choices":[""";
        FirstChunk = Encoding.UTF8.GetBytes(Head + """{"index":0,"delta":{"role":"assistant","content":"word0 "},"finish_reason":null}]}""" + "\n\n");
        Chunks = new byte[chunks - 1][];
        for (var i = 1; i < chunks; i++)
        {
            Chunks[i - 1] = Encoding.UTF8.GetBytes(Head + $$"""{"index":0,"delta":{"content":"word{{i}} "},"finish_reason":null}]}""" + "\n\n");
        }

        Tail = Encoding.UTF8.GetBytes(
            Head + """{"index":0,"delta":{},"finish_reason":"stop"}]}""" + "\n\n" +
            $$$"""data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","created":1700000000,"model":"mock","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":{{{chunks}}},"total_tokens":{{{12 + chunks}}}}}""" + "\n\n" +
            "data: [DONE]\n\n");
    }

    public byte[] Completion { get; }

    /// <summary>The role and the first word.</summary>
    public byte[] FirstChunk { get; }

    /// <summary>The remaining content chunks, one word each.</summary>
    public byte[][] Chunks { get; }

    /// <summary>The finish chunk, the usage chunk and <c>[DONE]</c>.</summary>
    public byte[] Tail { get; }
}
