using BenchmarkDotNet.Attributes;
using Rampart.Guardrails;
using Rampart.Streaming;

namespace Rampart.Benchmarks;

/// <summary>Per-chunk cost of the answer path: placeholder restoration, and output scanning, on a 2 KB answer in 20-character deltas.</summary>
[MemoryDiagnoser]
public class StreamingBenchmarks
{
    private string[] _deltas = [];
    private PiiVault _vault = null!;

    [GlobalSetup]
    public void Setup()
    {
        _vault = new PiiVault();
        var email = _vault.PlaceholderFor("EMAIL", "ann@corp.example");
        var phone = _vault.PlaceholderFor("PHONE", "+44 20 7946 0958");
        var answer = string.Concat(Enumerable.Repeat($"I have written to {email} and will call {phone} tomorrow about the invoice [draft]. ", 20))[..2000];
        _deltas = [.. answer.Chunk(20).Select(c => new string(c))];
    }

    /// <summary>100 deltas through restoration; divide by 100 for the per-chunk figure.</summary>
    [Benchmark(OperationsPerInvoke = 100)]
    public int RestorePerChunk()
    {
        var lane = new TextLane(null, _vault);
        var length = 0;
        foreach (var delta in _deltas)
        {
            length += lane.Push(delta).Length;
        }

        return length + lane.Flush().Length;
    }

    /// <summary>100 deltas through output scanning (secrets and PII) and restoration.</summary>
    [Benchmark(OperationsPerInvoke = 100)]
    public int ScanAndRestorePerChunk()
    {
        var lane = new TextLane(new OutputScanner(scanPii: true), _vault);
        var length = 0;
        foreach (var delta in _deltas)
        {
            length += lane.Push(delta).Length;
        }

        return length + lane.Flush().Length;
    }
}
