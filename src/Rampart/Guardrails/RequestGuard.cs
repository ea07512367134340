using System.Collections.Concurrent;
using System.Text;
using Rampart.Guardrails.Pii;
using Rampart.Guardrails.Secrets;
using Rampart.OpenAI;

namespace Rampart.Guardrails;

/// <summary>What the guardrails decided about one request: the request to forward, or why it is blocked, and counts per type.</summary>
internal sealed record GuardrailOutcome(ChatCompletionRequest Request, ApiError? Blocked, IReadOnlyList<GuardrailHit> Hits, string PiiMode, string SecretsMode);

/// <summary>One sensitive value: its kind and where it was (<c>messages[2].content</c>); never the value.</summary>
internal sealed record GuardrailHit(string Kind, string Location, bool IsSecret);

/// <summary>
/// Where a text is in the request: <paramref name="path"/> alone (<c>system</c>), or after <c>messages[message]</c> with
/// <paramref name="item"/> in its <c>[]</c> (<c>messages[2].content[0].text</c>). Spelled out only when something is found.
/// </summary>
internal readonly struct TextLocation(string path, int message = -1, int item = -1)
{
    public static implicit operator TextLocation(string path) => new(path);

    public override string ToString()
    {
        if (message < 0)
        {
            return path;
        }

        var brackets = path.IndexOf("[]", StringComparison.Ordinal);
        return brackets < 0 || item < 0
            ? $"messages[{message}].{path}"
            : $"messages[{message}].{path.AsSpan(0, brackets + 1)}{item}{path.AsSpan(brackets + 1)}";
    }
}

/// <summary>
/// Scans every text a caller sends — message content and content parts, tool-call arguments, tool results,
/// the <c>system</c> field — for secrets (block, or redact where the workspace says so) and personal data
/// (by the effective PII mode). Pure: it returns a new request and never logs or stores a value.
/// </summary>
internal static class RequestGuard
{
    public const string SecretPlaceholder = "[REDACTED_SECRET]";

    /// <param name="vault">When given, obfuscated PII gets numbered placeholders whose originals the vault keeps for restoring the answer.</param>
    public static GuardrailOutcome Inspect(ChatCompletionRequest request, string piiMode, string secretsMode, PiiVault? vault = null)
    {
        var hits = new List<GuardrailHit>();
        var scan = new TextScan(piiMode, secretsMode, vault, hits);
        var system = scan.Inspect(request.System, "system");
        var messages = request.Messages ?? [];
        List<ChatMessage>? rewritten = null;
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            var updated = InspectMessage(message, i, scan);
            if (!ReferenceEquals(updated, message))
            {
                rewritten ??= [.. messages];
                rewritten[i] = updated;
            }
        }

        if (Blocking(hits, piiMode, secretsMode, "Nothing was sent to the model provider.") is { } blocked)
        {
            return new GuardrailOutcome(request, blocked, hits, piiMode, secretsMode);
        }

        var result = system is null && rewritten is null
            ? request
            : request with { System = system ?? request.System, Messages = rewritten ?? request.Messages };
        return new GuardrailOutcome(result, null, hits, piiMode, secretsMode);
    }

    /// <summary>
    /// One text: what it contains (added to <paramref name="hits"/>) and, when something in it is to be replaced
    /// (secrets under <c>redact</c>, PII under <c>obfuscate</c>), the text to forward instead; null when it goes as is.
    /// Whether the findings block is the caller's decision.
    /// </summary>
    public static string? InspectText(string? text, TextLocation location, string piiMode, string secretsMode, PiiVault? vault, List<GuardrailHit> hits)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var secrets = SecretScanner.Default.Scan(text);
        var pii = piiMode != "disabled" ? PiiScanner.Scan(text) : [];

        if (secrets.Count == 0 && pii.Count == 0)
        {
            return null; // the common case, and no allocation for it
        }

        var where = location.ToString();

        // A value inside a secret (the host of a connection string, say) is reported as part of the secret.
        if (secrets.Count > 0 && pii.Count > 0)
        {
            Finding.RemoveOverlapping(pii, secrets);
        }

        var replace = new List<(Finding Finding, string Placeholder)>();
        foreach (var secret in secrets)
        {
            hits.Add(new GuardrailHit(secret.Kind, where, IsSecret: true));
            if (secretsMode == SecretModes.Redact)
            {
                replace.Add((secret, SecretPlaceholder));
            }
        }

        foreach (var p in pii)
        {
            hits.Add(new GuardrailHit(p.Kind, where, IsSecret: false));
            if (piiMode == "obfuscate")
            {
                replace.Add((p, vault?.PlaceholderFor(p.Kind, text.Substring(p.Start, p.Length)) ?? PiiTypes.Placeholder(p.Kind)));
            }
        }

        return replace.Count == 0 ? null : Redact(text, replace);
    }

    private static ChatMessage InspectMessage(ChatMessage message, int index, TextScan scan)
    {
        var content = message.Content;
        if (content?.Text is { } text && scan.Inspect(text, new TextLocation("content", index)) is { } newText)
        {
            content = content with { Text = newText };
        }
        else if (content?.Parts is { } parts)
        {
            List<ContentPart>? newParts = null;
            for (var j = 0; j < parts.Count; j++)
            {
                if (scan.Inspect(parts[j].Text, new TextLocation("content[].text", index, j)) is { } partText)
                {
                    newParts ??= [.. parts];
                    newParts[j] = parts[j] with { Text = partText };
                }
            }

            if (newParts is not null)
            {
                content = content with { Parts = newParts };
            }
        }

        var toolCalls = message.ToolCalls;
        if (toolCalls is not null)
        {
            List<ToolCall>? newCalls = null;
            for (var k = 0; k < toolCalls.Count; k++)
            {
                var function = toolCalls[k].Function;
                if (scan.Inspect(function?.Arguments, new TextLocation("tool_calls[].function.arguments", index, k)) is { } arguments)
                {
                    newCalls ??= [.. toolCalls];
                    newCalls[k] = toolCalls[k] with { Function = function! with { Arguments = arguments } };
                }
            }

            toolCalls = newCalls ?? toolCalls;
        }

        return ReferenceEquals(content, message.Content) && ReferenceEquals(toolCalls, message.ToolCalls)
            ? message
            : message with { Content = content, ToolCalls = toolCalls };
    }

    /// <summary>One request's settings and findings, handed to each of its texts (a struct: no closure per request).</summary>
    private readonly record struct TextScan(string PiiMode, string SecretsMode, PiiVault? Vault, List<GuardrailHit> Hits)
    {
        public string? Inspect(string? text, TextLocation location) => InspectText(text, location, PiiMode, SecretsMode, Vault, Hits);
    }

    private static string Redact(string text, List<(Finding Finding, string Placeholder)> replacements)
    {
        replacements.Sort((a, b) => a.Finding.Start.CompareTo(b.Finding.Start));
        var length = text.Length;
        var position = 0;
        foreach (var (finding, placeholder) in replacements)
        {
            if (finding.Start >= position)
            {
                length += placeholder.Length - (finding.End - finding.Start);
                position = finding.End;
            }
        }

        // Written straight into the new string: a long prompt is copied once, not through a buffer or builder too.
        return string.Create(length, (text, replacements), static (output, state) =>
        {
            var (text, replacements) = state;
            var written = 0;
            var position = 0;
            foreach (var (finding, placeholder) in replacements)
            {
                if (finding.Start < position)
                {
                    continue;
                }

                text.AsSpan(position, finding.Start - position).CopyTo(output[written..]);
                written += finding.Start - position;
                placeholder.CopyTo(output[written..]);
                written += placeholder.Length;
                position = finding.End;
            }

            text.AsSpan(position).CopyTo(output[written..]);
        });
    }

    /// <summary>The request's <paramref name="hits"/> block it: secrets unless they are redacted, PII under <c>block</c>; else null.</summary>
    /// <param name="consequence">What the caller is told did not happen, e.g. that nothing reached the provider.</param>
    public static ApiError? Blocking(List<GuardrailHit> hits, string piiMode, string secretsMode, string consequence)
    {
        if (hits.Count == 0)
        {
            return null;
        }

        var secretHits = hits.Where(h => h.IsSecret).ToList();
        if (secretHits.Count > 0 && secretsMode != SecretModes.Redact)
        {
            return Blocked("secret_detected", "Blocked by Secret Detection", secretHits, consequence);
        }

        var piiHits = hits.Where(h => !h.IsSecret).ToList();
        return piiHits.Count > 0 && piiMode == "block" ? Blocked("pii_detected", "Blocked by PII Detection", piiHits, consequence) : null;
    }

    private static ApiError Blocked(string code, string verdict, List<GuardrailHit> hits, string consequence)
    {
        var listed = hits.GroupBy(h => (h.Kind, h.Location)).Select(g => $"{g.Key.Kind} in {g.Key.Location}").Take(10);
        var more = hits.Count > 10 ? $" and {hits.Count - 10} more" : "";
        return ApiError.InvalidRequest($"{verdict}: {string.Join("; ", listed)}{more}. {consequence}", hits[0].Location, code);
    }

    /// <summary>Response header values: counts per kind and the action, e.g. <c>EMAIL=2, PHONE=1; action=obfuscate</c>.</summary>
    /// <summary>A response header's account of one family of hits, e.g. <c>email=1, phone=2; action=obfuscate</c>; null when there is none.</summary>
    public static string? Summary(IReadOnlyList<GuardrailHit> hits, bool secrets, string action)
    {
        var counts = CountByKind(hits, secrets);
        if (counts.Count == 0)
        {
            return null;
        }

        var summary = new StringBuilder();
        foreach (var (kind, count) in counts)
        {
            summary.Append(summary.Length == 0 ? "" : ", ").Append(HeaderLabels.GetOrAdd(kind, HeaderLabel)).Append('=').Append(count);
        }

        return summary.Append("; action=").Append(action).ToString();
    }

    /// <summary>The kinds among one family of hits (secrets or PII) with how often each was found, in ordinal order of kind.</summary>
    public static List<(string Kind, int Count)> CountByKind(IReadOnlyList<GuardrailHit> hits, bool secrets)
    {
        var counts = new List<(string Kind, int Count)>();
        foreach (var hit in hits)
        {
            if (hit.IsSecret != secrets)
            {
                continue;
            }

            var i = 0;
            while (i < counts.Count && !string.Equals(counts[i].Kind, hit.Kind, StringComparison.Ordinal))
            {
                i++;
            }

            if (i < counts.Count)
            {
                counts[i] = (hit.Kind, counts[i].Count + 1);
            }
            else
            {
                counts.Add((hit.Kind, 1));
            }
        }

        counts.Sort(static (a, b) => string.CompareOrdinal(a.Kind, b.Kind));
        return counts;
    }

    // Kinds come from the scanners' fixed sets, so this stays small.
    private static readonly ConcurrentDictionary<string, string> HeaderLabels = new(StringComparer.Ordinal);

    private static string HeaderLabel(string kind) =>
        kind.ToLowerInvariant().Replace(' ', '-').Replace("(", "", StringComparison.Ordinal).Replace(")", "", StringComparison.Ordinal);
}

internal static class SecretModes
{
    public const string Block = "block";
    public const string Redact = "redact";

    public static bool IsValid(string mode) => mode is Block or Redact;
}
