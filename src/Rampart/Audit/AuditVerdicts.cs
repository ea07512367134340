using Rampart.Guardrails;

namespace Rampart.Audit;

/// <summary>The audit log's wording of security decisions: kinds, counts and locations, never the values found.</summary>
internal static class AuditVerdicts
{
    private const int MaxLocations = 5;

    /// <summary>One line per check that found something, e.g. <c>PII obfuscated: EMAIL×2 (messages[0].content)</c>.</summary>
    public static IEnumerable<string> Of(GuardrailOutcome guard)
    {
        var blockedBy = guard.Blocked?.Code;
        if (guard.Secrets.Any())
        {
            var action = blockedBy == "secret_detected" ? "Blocked by Secret Detection"
                : guard.SecretsMode == SecretModes.Redact ? "Secrets redacted"
                : "Secrets detected";
            yield return Describe(action, guard.Secrets);
        }

        if (guard.Pii.Any())
        {
            var action = blockedBy == "pii_detected" ? "Blocked by PII Detection"
                : blockedBy is null && guard.PiiMode == "obfuscate" ? "PII obfuscated"
                : "PII detected";
            yield return Describe(action, guard.Pii);
        }
    }

    public static string? Output(OutputScanner? scanner) =>
        scanner is { SecretsRedacted: 0, PiiRedacted: 0 } or null
            ? null
            : $"Output redacted: secrets×{scanner.SecretsRedacted}, PII×{scanner.PiiRedacted}";

    private static string Describe(string action, IEnumerable<GuardrailHit> hits)
    {
        var list = hits.ToList();
        var kinds = list.GroupBy(h => h.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}×{g.Count()}");
        var locations = list.Select(h => h.Location).Distinct().ToList();
        var where = string.Join(", ", locations.Take(MaxLocations)) + (locations.Count > MaxLocations ? $" and {locations.Count - MaxLocations} more" : "");
        return $"{action}: {string.Join(", ", kinds)} ({where})";
    }
}
