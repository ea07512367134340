using System.Globalization;
using System.Text;
using Rampart.Guardrails;
using Rampart.Guardrails.Pii;
using Rampart.Guardrails.Secrets;

namespace Rampart.Eval;

internal sealed record TypeScore(string Type, int Positives, int TruePositives, int FalsePositives, bool Targeted)
{
    public double Precision => TruePositives + FalsePositives == 0 ? 1 : (double)TruePositives / (TruePositives + FalsePositives);

    public double Recall => Positives == 0 ? 1 : (double)TruePositives / Positives;

    public bool MeetsTarget => !Targeted || (Precision >= 0.99 && Recall >= 0.98);
}

internal sealed record FamilyScore(string Family, string Format, int Samples, int Caught);

internal sealed record EvaluationReport(
    IReadOnlyList<TypeScore> Pii, int PiiNegativeTexts, IReadOnlyList<FamilyScore> Secrets, int SecretNegativeTexts, int SecretNegativeHits,
    IReadOnlyList<string> Misses)
{
    public bool MeetsTargets =>
        Pii.All(s => s.MeetsTarget) && Secrets.All(s => s.Caught == s.Samples) && SecretNegativeHits == 0
        && SecretRules.All.All(r => Secrets.Any(s => s.Family == r.Id));
}

/// <summary>
/// Runs both scanners over the generated corpora and scores them. A PII finding counts when it overlaps a labelled
/// span of the same type; any other finding is a false positive of its type. A secret counts when a finding of its
/// family's kind overlaps it; a negative text counts once if anything at all is found in it.
/// </summary>
internal static class Evaluation
{
    public static EvaluationReport Run(int seed, int piiPerType, int piiNegativesPerKind, int secretRounds, int secretNegativeRounds)
    {
        var misses = new List<string>();
        var pii = new PiiCorpus(seed);
        var samples = pii.Positives(piiPerType);
        var negatives = pii.Negatives(piiNegativesPerKind);
        var positives = PiiCorpus.Types.ToDictionary(t => t, _ => 0);
        var truePositives = PiiCorpus.Types.ToDictionary(t => t, _ => 0);
        var falsePositives = PiiCorpus.Types.ToDictionary(t => t, _ => 0);
        foreach (var sample in samples.Concat(negatives))
        {
            var findings = PiiScanner.Scan(sample.Text);
            foreach (var label in sample.Labels)
            {
                positives[label.Type]++;
                if (findings.Any(f => f.Kind == label.Type && Overlaps(f, label.Start, label.Length)))
                {
                    truePositives[label.Type]++;
                }
                else
                {
                    misses.Add($"PII missed {label.Type}: {sample.Text} -> {Describe(sample.Text, findings)}");
                }
            }

            foreach (var finding in findings)
            {
                if (!sample.Labels.Any(l => l.Type == finding.Kind && Overlaps(finding, l.Start, l.Length)))
                {
                    falsePositives[finding.Kind] = falsePositives.GetValueOrDefault(finding.Kind) + 1;
                    misses.Add($"PII false {finding.Kind}: {sample.Text} -> '{sample.Text.Substring(finding.Start, finding.Length)}'");
                }
            }
        }

        var piiScores = PiiCorpus.Types
            .Select(t => new TypeScore(t, positives[t], truePositives[t], falsePositives[t], PiiCorpus.Targeted.Contains(t)))
            .ToList();

        var secrets = new SecretCorpus(seed);
        var kinds = SecretRules.All.ToDictionary(r => r.Id, r => r.Kind);
        var families = new Dictionary<(string, string), (int Samples, int Caught)>();
        foreach (var sample in secrets.Positives(secretRounds))
        {
            var findings = SecretScanner.Default.Scan(sample.Text);
            var caught = findings.Any(f => f.Kind == kinds[sample.Family] && Overlaps(f, sample.Start, sample.Length));
            var (n, c) = families.GetValueOrDefault((sample.Family, sample.Format));
            families[(sample.Family, sample.Format)] = (n + 1, c + (caught ? 1 : 0));
            if (!caught)
            {
                misses.Add($"secret missed {sample.Family}/{sample.Format}: {sample.Text} -> {Describe(sample.Text, findings)}");
            }
        }

        var secretNegatives = secrets.Negatives(secretNegativeRounds);
        var negativeHits = 0;
        foreach (var text in secretNegatives)
        {
            var findings = SecretScanner.Default.Scan(text);
            if (findings.Count > 0)
            {
                negativeHits++;
                misses.Add($"secret false: {text} -> {Describe(text, findings)}");
            }
        }

        var familyScores = families.Select(p => new FamilyScore(p.Key.Item1, p.Key.Item2, p.Value.Samples, p.Value.Caught)).ToList();
        return new EvaluationReport(piiScores, negatives.Count, familyScores, secretNegatives.Count, negativeHits, misses);
    }

    private static bool Overlaps(Finding f, int start, int length) => f.Start < start + length && start < f.End;

    private static string Describe(string text, List<Finding> findings) =>
        findings.Count == 0 ? "nothing" : string.Join(", ", findings.Select(f => $"{f.Kind} '{text.Substring(f.Start, f.Length)}'"));

    public static string Markdown(EvaluationReport report)
    {
        var c = CultureInfo.InvariantCulture;
        var builder = new StringBuilder();
        builder.AppendLine(c, $"### PII ({report.PiiNegativeTexts} hard-negative texts)").AppendLine();
        builder.AppendLine("| Type | Positives | Found | False positives | Precision | Recall | Target |");
        builder.AppendLine("|---|---:|---:|---:|---:|---:|---|");
        foreach (var s in report.Pii)
        {
            var target = s.Targeted ? (s.MeetsTarget ? "met" : "**MISSED**") : "reported";
            builder.AppendLine(c, $"| {s.Type} | {s.Positives} | {s.TruePositives} | {s.FalsePositives} | {s.Precision:F4} | {s.Recall:F4} | {target} |");
        }

        builder.AppendLine().AppendLine(c, $"### Secrets ({report.SecretNegativeTexts} negative texts, {report.SecretNegativeHits} with a finding)").AppendLine();
        builder.AppendLine("| Family | Formats | Samples | Caught |");
        builder.AppendLine("|---|---|---:|---:|");
        foreach (var family in report.Secrets.GroupBy(s => s.Family))
        {
            var formats = string.Join(", ", family.Select(s => s.Caught == s.Samples ? $"`{s.Format}`" : $"`{s.Format}` **{s.Caught}/{s.Samples}**"));
            builder.AppendLine(c, $"| {family.Key} | {formats} | {family.Sum(s => s.Samples)} | {family.Sum(s => s.Caught)} |");
        }

        return builder.ToString();
    }
}
