using System.Text;
using Rampart.Guardrails.Pii;
using Rampart.Guardrails.Secrets;

namespace Rampart.Audit;

/// <summary>
/// Free text the caller controls and the audit log keeps (the requested model, the user agent): shortened, and any
/// secret or personal data in it replaced by its kind, so a key pasted into the wrong field never lands in the log.
/// </summary>
internal static class AuditText
{
    public static string? Clean(string? text, int maxLength)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        if (SecretScanner.Default.MayFind(text) || PiiScanner.MayFind(text))
        {
            text = Redact(text);
        }

        // Never half a surrogate pair at the cut.
        return text.Length <= maxLength ? text : text[..(char.IsHighSurrogate(text[maxLength - 1]) ? maxLength - 1 : maxLength)];
    }

    /// <summary>Each secret and personal value in the text replaced by its kind in brackets.</summary>
    private static string Redact(string text)
    {
        var kept = new Guardrails.FindingSet(text.Length);
        foreach (var secret in SecretScanner.Default.Scan(text))
        {
            kept.Add(secret);
        }

        // IP addresses excepted: browsers' version numbers look like them (Chrome/120.0.0.0), and the client's address is recorded anyway.
        foreach (var pii in PiiScanner.Scan(text))
        {
            if (pii.Kind != PiiTypes.IpAddress && !kept.OverlapsAny(pii.Start, pii.Length))
            {
                kept.Add(pii);
            }
        }

        var findings = kept.ToSortedList();
        if (findings.Count > 0)
        {
            var builder = new StringBuilder(text.Length);
            var position = 0;
            foreach (var finding in findings.Where(f => f.Start >= 0))
            {
                if (finding.Start < position)
                {
                    continue;
                }

                builder.Append(text, position, finding.Start - position).Append('[').Append(finding.Kind).Append(']');
                position = finding.End;
            }

            text = builder.Append(text, position, text.Length - position).ToString();
        }

        return text;
    }

    /// <summary>
    /// Text every database can store: NUL (PostgreSQL's text type refuses it) and unpaired surrogate halves (which have no
    /// UTF-8 form) become U+FFFD. One such value would otherwise fail its whole batch, and the batch's replays, for ever.
    /// </summary>
    public static string? Storable(string? text)
    {
        if (text is null)
        {
            return null;
        }

        char[]? fixedText = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (c == '\0' || char.IsSurrogate(c))
            {
                fixedText ??= text.ToCharArray();
                fixedText[i] = '\uFFFD';
            }
        }

        return fixedText is null ? text : new string(fixedText);
    }
}
