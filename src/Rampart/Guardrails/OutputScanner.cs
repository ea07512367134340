using System.Text;
using Rampart.Guardrails.Pii;
using Rampart.Guardrails.Secrets;

namespace Rampart.Guardrails;

/// <summary>
/// Redacts secrets (always) and PII (when the workspace's PII mode is on) in what the model writes back.
/// Works on segments of a stream: each segment is scanned together with the text already sent before it, so
/// "password: " in one piece and the value in the next are still seen together; only the new segment is changed.
/// </summary>
internal sealed class OutputScanner(bool scanPii)
{
    private int _secrets;
    private int _pii;

    public int SecretsRedacted => _secrets;

    public int PiiRedacted => _pii;

    public string Redact(string context, string segment)
    {
        var text = context + segment;
        var findings = SecretScanner.Default.Scan(text).Select(f => (Finding: f, Placeholder: RequestGuard.SecretPlaceholder)).ToList();
        if (scanPii)
        {
            findings.AddRange(PiiScanner.Scan(text)
                .Where(p => !findings.Exists(s => p.Start < s.Finding.End && s.Finding.Start < p.End))
                .Select(p => (Finding: p, Placeholder: PiiTypes.Placeholder(p.Kind))));
        }

        // Only what lies in the new segment can still be changed; a value that began in text already sent
        // has its remaining part redacted.
        var offset = context.Length;
        var relevant = findings.Where(f => f.Finding.End > offset).OrderBy(f => f.Finding.Start).ToList();
        if (relevant.Count == 0)
        {
            return segment;
        }

        var builder = new StringBuilder(segment.Length);
        var position = 0;
        foreach (var (finding, placeholder) in relevant)
        {
            var start = Math.Max(finding.Start - offset, 0);
            if (start < position)
            {
                continue;
            }

            builder.Append(segment, position, start - position).Append(placeholder);
            position = finding.End - offset;
            if (placeholder == RequestGuard.SecretPlaceholder)
            {
                _secrets++;
            }
            else
            {
                _pii++;
            }
        }

        return builder.Append(segment, position, segment.Length - position).ToString();
    }

    /// <summary>
    /// Where text may be cut for scanning: after the last whitespace, moved back over a trailing run of
    /// number-like words ("+44 20 7946") so a phone number or card written in groups is scanned whole.
    /// </summary>
    public static int SafeBoundary(string text)
    {
        var boundary = text.Length;
        while (boundary > 0 && !char.IsWhiteSpace(text[boundary - 1]))
        {
            boundary--;
        }

        // Step back over preceding whitespace-separated groups made only of digits and number punctuation.
        while (boundary > 0)
        {
            var wordEnd = boundary;
            while (wordEnd > 0 && char.IsWhiteSpace(text[wordEnd - 1]))
            {
                wordEnd--;
            }

            var wordStart = wordEnd;
            while (wordStart > 0 && !char.IsWhiteSpace(text[wordStart - 1]))
            {
                wordStart--;
            }

            if (wordStart == wordEnd || !IsNumberGroup(text.AsSpan(wordStart, wordEnd - wordStart)))
            {
                break;
            }

            boundary = wordStart;
        }

        return boundary;
    }

    private static bool IsNumberGroup(ReadOnlySpan<char> word)
    {
        var digits = 0;
        foreach (var c in word)
        {
            if (char.IsAsciiDigit(c))
            {
                digits++;
            }
            else if (c is not ('+' or '(' or ')' or '-' or '.' or '/'))
            {
                return false;
            }
        }

        return digits > 0;
    }
}
