using Rampart.Eval;

namespace Rampart.Tests.Guardrails;

/// <summary>The evaluation of bench/Rampart.Eval on a smaller corpus (another seed), so CI guards issue 3's targets.</summary>
public sealed class GuardrailEvaluationTests
{
    [Fact]
    public void GeneratedCorpus_MeetsPrecisionRecallAndSecretTargets()
    {
        var report = Evaluation.Run(seed: 7, piiPerType: 120, piiNegativesPerKind: 8, secretRounds: 8, secretNegativeRounds: 1);

        Assert.True(report.MeetsTargets, Evaluation.Markdown(report) + string.Join('\n', report.Misses.Take(20)));
        Assert.All(report.Pii, score => Assert.True(score.Positives > 0, $"{score.Type} has no positives"));
    }
}
