using Rampart.Guardrails;

namespace Rampart.Audit;

/// <summary>The audit log's wording of security decisions: kinds, counts and locations, never the values found.</summary>
internal static class AuditVerdicts
{
    private const int MaxLocations = 5;

    /// <summary>One line per check that found something, e.g. <c>PII obfuscated: EMAIL×2 (messages[0].content)</c>.</summary>
    public static IEnumerable<string> Of(GuardrailOutcome guard) => Of(guard.Hits, guard.PiiMode, guard.SecretsMode, guard.Blocked?.Code);

    /// <param name="blockedBy">The error code the findings led to (<c>secret_detected</c>, <c>pii_detected</c>), if they blocked.</param>
    public static IEnumerable<string> Of(IReadOnlyList<GuardrailHit> hits, string piiMode, string secretsMode, string? blockedBy) =>
        hits.Count == 0 ? [] : Describe(hits, piiMode, secretsMode, blockedBy);

    private static IEnumerable<string> Describe(IReadOnlyList<GuardrailHit> hits, string piiMode, string secretsMode, string? blockedBy)
    {
        if (Describe(hits, secrets: true, blockedBy == "secret_detected" ? "Blocked by Secret Detection"
                : secretsMode == SecretModes.Redact ? "Secrets redacted"
                : "Secrets detected") is { } secrets)
        {
            yield return secrets;
        }

        if (Describe(hits, secrets: false, blockedBy == "pii_detected" ? "Blocked by PII Detection"
                : blockedBy is null && piiMode == "obfuscate" ? "PII obfuscated"
                : "PII detected") is { } pii)
        {
            yield return pii;
        }
    }

    public static string? Output(OutputScanner? scanner) =>
        scanner is { SecretsRedacted: 0, PiiRedacted: 0 } or null
            ? null
            : $"Output redacted: secrets×{scanner.SecretsRedacted}, PII×{scanner.PiiRedacted}";

    private static string? Describe(IReadOnlyList<GuardrailHit> hits, bool secrets, string action)
    {
        var kinds = RequestGuard.CountByKind(hits, secrets);
        if (kinds.Count == 0)
        {
            return null;
        }

        var (locations, seen) = (new List<string>(), new HashSet<string>(StringComparer.Ordinal));
        foreach (var hit in hits)
        {
            if (hit.IsSecret == secrets && seen.Add(hit.Location))
            {
                locations.Add(hit.Location);
            }
        }

        var where = string.Join(", ", locations.Take(MaxLocations)) + (locations.Count > MaxLocations ? $" and {locations.Count - MaxLocations} more" : "");
        return $"{action}: {string.Join(", ", kinds.Select(k => $"{k.Kind}×{k.Count}"))} ({where})";
    }
}
