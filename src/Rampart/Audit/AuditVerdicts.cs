using Rampart.Guardrails;

namespace Rampart.Audit;

/// <summary>The audit log's wording of security decisions: kinds, counts and locations, never the values found.</summary>
internal static class AuditVerdicts
{
    private const int MaxLocations = 5;

    /// <summary>One line per check that found something, e.g. <c>PII obfuscated: EMAIL×2 (messages[0].content)</c>.</summary>
    public static IEnumerable<string> Of(GuardrailOutcome guard) => Of(guard.Hits, guard.PiiMode, guard.SecretsMode, guard.Blocked?.Code);

    /// <param name="blockedBy">The error code the findings led to (<c>secret_detected</c>, <c>pii_detected</c>), if they blocked.</param>
    public static IEnumerable<string> Of(IReadOnlyList<GuardrailHit> hits, string piiMode, string secretsMode, string? blockedBy)
    {
        var secrets = hits.Where(h => h.IsSecret).ToList();
        if (secrets.Count > 0)
        {
            var action = blockedBy == "secret_detected" ? "Blocked by Secret Detection"
                : secretsMode == SecretModes.Redact ? "Secrets redacted"
                : "Secrets detected";
            yield return Describe(action, secrets);
        }

        var pii = hits.Where(h => !h.IsSecret).ToList();
        if (pii.Count > 0)
        {
            var action = blockedBy == "pii_detected" ? "Blocked by PII Detection"
                : blockedBy is null && piiMode == "obfuscate" ? "PII obfuscated"
                : "PII detected";
            yield return Describe(action, pii);
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
