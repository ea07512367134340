using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Rampart.Guardrails;
using Rampart.OpenAI;
using Rampart.Providers.OpenAICompatible;
using Rampart.Streaming;

namespace Rampart.Benchmarks;

/// <summary>
/// Per-chunk cost of the answer path: relaying an upstream event, placeholder restoration, and output scanning (on a
/// 2 KB answer in 20-character deltas).
/// </summary>
[MemoryDiagnoser]
public class StreamingBenchmarks
{
    private string[] _deltas = [];
    private string[] _prose = [];
    private PiiVault _vault = null!;

    // A content event as OpenAI sends it (the load benchmark's mock sends the same shape).
    private static readonly byte[] Event =
        """{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_b376dfbbd5","choices":[{"index":0,"delta":{"content":" and"},"logprobs":null,"finish_reason":null}]}"""u8.ToArray();

    private SseWriter _sse = null!;

    [GlobalSetup]
    public void Setup()
    {
        var http = new DefaultHttpContext();
        http.Response.Body = Stream.Null;
        _sse = new SseWriter(http.Response);
        _vault = new PiiVault();
        var email = _vault.PlaceholderFor("EMAIL", "ann@corp.example");
        var phone = _vault.PlaceholderFor("PHONE", "+44 20 7946 0958");
        var answer = string.Concat(Enumerable.Repeat($"I have written to {email} and will call {phone} tomorrow about the invoice [draft]. ", 20))[..2000];
        _deltas = [.. answer.Chunk(20).Select(c => new string(c))];
        var prose = string.Concat(Enumerable.Repeat("I have written to the team and will call them tomorrow about the invoice draft. ", 30))[..2000];
        _prose = [.. prose.Chunk(20).Select(c => new string(c))];
    }

    /// <summary>One upstream event read (after the stream's previous one) and written to the caller as it came (nothing rewrote it), 100 times.</summary>
    [Benchmark(OperationsPerInvoke = 100)]
    public async Task RelayPerChunk()
    {
        ChatCompletionChunk? previous = null;
        for (var i = 0; i < 100; i++)
        {
            previous = OpenAICompatibleProvider.ReadChunk(Event, previous)!;
            await _sse.WriteAsync(previous, default);
        }
    }

    /// <summary>The same, but the chunk was rewritten (a copy), so it is serialised again.</summary>
    [Benchmark(OperationsPerInvoke = 100)]
    public async Task RelayPerChunk_Rewritten()
    {
        for (var i = 0; i < 100; i++)
        {
            await _sse.WriteAsync(OpenAICompatibleProvider.ReadChunk(Event)! with { }, default);
        }
    }

    /// <summary>
    /// One upstream event read and written to the caller through the answer rewriter of a request whose prompt had PII
    /// (the vault holds placeholders) while the event holds none, 100 times: what every event of such a stream costs.
    /// </summary>
    [Benchmark(OperationsPerInvoke = 100)]
    public async Task RewriteAndRelayPerChunk_NothingToRestore()
    {
        var rewriter = AnswerRewriter.Create(null, _vault)!;
        ChatCompletionChunk? previous = null;
        for (var i = 0; i < 100; i++)
        {
            previous = OpenAICompatibleProvider.ReadChunk(Event, previous)!;
            await _sse.WriteAsync(rewriter.Rewrite(previous)!, default);
        }
    }

    /// <summary>100 deltas through restoration; divide by 100 for the per-chunk figure.</summary>
    [Benchmark(OperationsPerInvoke = 100)]
    public int RestorePerChunk() => PushAll(new TextLane(null, _vault), _deltas);

    /// <summary>100 deltas through output scanning (secrets and PII) and restoration.</summary>
    [Benchmark(OperationsPerInvoke = 100)]
    public int ScanAndRestorePerChunk() => PushAll(new TextLane(new OutputScanner(scanPii: true), _vault), _deltas);

    /// <summary>100 deltas of prose with no digit, '@' or secret keyword through output scanning (secrets and PII).</summary>
    [Benchmark(OperationsPerInvoke = 100)]
    public int ScanPerChunk_PlainProse() => PushAll(new TextLane(new OutputScanner(scanPii: true), null), _prose);

    private static int PushAll(TextLane lane, string[] deltas)
    {
        var length = 0;
        foreach (var delta in deltas)
        {
            length += lane.Push(delta).Length;
        }

        return length + lane.Flush().Length;
    }
}
