using System.Text;
using BenchmarkDotNet.Attributes;
using Rampart.Guardrails.Pii;
using Rampart.Guardrails.Secrets;

namespace Rampart.Benchmarks;

/// <summary>
/// The full guardrail scan (every secret rule and every PII type) over realistic chat text, and over 1 MB of hostile
/// near-matches. Divide the text size by the mean time for MB/s.
/// </summary>
[MemoryDiagnoser]
public class GuardrailBenchmarks
{
    private string _chat = "";
    private string _hostile = "";
    private string _manyFindings = "";

    [GlobalSetup]
    public void Setup()
    {
        var paragraph = """
            Hi team, following up on yesterday's call about the Q3 migration. The plan is to move the billing service
            to the new cluster on Thursday at 10:30, after the 2.4.1 release is tagged. Please review the runbook in the
            wiki (section 4.2) and confirm you can be on call. Numbers from the dry run: 1,204 jobs replayed, 0.3% retried,
            p99 latency 182 ms. If anything looks off, ping me on Slack or reply here. Thanks! — Sam

            """;
        var builder = new StringBuilder();
        while (builder.Length < 64 * 1024)
        {
            builder.Append(paragraph);
        }

        _chat = builder.ToString();
        var unit = "ghp_ aws secret = AKIA sk-proj- xoxb-1234567890- postgres://u: Authorization: Bearer password= eyJ.eyJ 4111 1111 +44 20 a@b. 10.0.0. ";
        builder.Clear();
        while (builder.Length < 1024 * 1024)
        {
            builder.Append(unit).Append('a', 100).Append(' ');
        }

        _hostile = builder.ToString();
        builder.Clear();
        while (builder.Length < 1024 * 1024)
        {
            builder.Append("a@b.cd 4111 1111 1111 1111 ");
        }

        _manyFindings = builder.ToString();
    }

    /// <summary>64 KB of ordinary chat text through every detector.</summary>
    [Benchmark]
    public int FullScan_Chat64KB() => SecretScanner.Default.Scan(_chat).Count + PiiScanner.Scan(_chat).Count;

    /// <summary>1 MB built to tease every detector: must stay linear.</summary>
    [Benchmark]
    public int FullScan_Hostile1MB() => SecretScanner.Default.Scan(_hostile).Count + PiiScanner.Scan(_hostile).Count;

    /// <summary>1 MB that is nearly all real findings (≈ 75,000 e-mail addresses and card numbers): linear in the findings too.</summary>
    [Benchmark]
    public int FullScan_ManyFindings1MB() => SecretScanner.Default.Scan(_manyFindings).Count + PiiScanner.Scan(_manyFindings).Count;
}
