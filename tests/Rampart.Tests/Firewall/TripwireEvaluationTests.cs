using Rampart.Eval;
using Xunit.Abstractions;

namespace Rampart.Tests.Firewall;

/// <summary>The tripwire measurement of bench/Rampart.Eval (--tripwires), so CI guards issue 5's precision target.</summary>
public sealed class TripwireEvaluationTests(ITestOutputHelper output)
{
    [Fact]
    public void OrdinaryPrompts_AtMostOnePercentFlagged_AndMostAttacksCaught()
    {
        var report = TripwireEvaluation.Run();
        output.WriteLine(TripwireEvaluation.Markdown(report));
        foreach (var falsePositive in report.FalsePositives)
        {
            output.WriteLine("false positive: " + falsePositive);
        }

        Assert.True(report.Ordinary >= 300, $"only {report.Ordinary} ordinary prompts");
        Assert.True(report.MeetsTarget, $"false-positive rate {report.FalsePositiveRate:P2}:\n{string.Join('\n', report.FalsePositives)}");
        Assert.True(report.OverallRecall >= 0.75, $"recall {report.OverallRecall:P2}:\n{string.Join('\n', report.Missed)}");
        Assert.All(report.Recall.Where(r => r.Kind == "hidden characters"), r => Assert.Equal(r.Attacks, r.Caught));
    }
}
