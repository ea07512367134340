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

    /// <summary>
    /// Redacts what is found in <paramref name="segment"/>, the end of <paramref name="text"/> (the text already sent
    /// before it, then the segment). <paramref name="secrets"/>: whether the text may hold a secret rule's keyword; the
    /// caller tracks that as the text grows, since without one no rule can match. Returns the segment itself when
    /// nothing in it is found.
    /// </summary>
    public string Redact(string text, string segment, bool secrets)
    {
        var offset = text.Length - segment.Length;
        var secretFindings = secrets ? SecretScanner.Default.Scan(text) : NoFindings;
        var piiFindings = scanPii && PiiScanner.MayFind(text) ? PiiScanner.Scan(text) : NoFindings;
        if (secretFindings.Count > 0 && piiFindings.Count > 0)
        {
            Finding.RemoveOverlapping(piiFindings, secretFindings);
        }

        // Both lists are in text order. Only what lies in the new segment can still be changed; a value that began in
        // text already sent has its remaining part redacted.
        StringBuilder? builder = null;
        var position = 0;
        for (int s = 0, p = 0; s < secretFindings.Count || p < piiFindings.Count;)
        {
            var isSecret = p == piiFindings.Count || (s < secretFindings.Count && secretFindings[s].Start < piiFindings[p].Start);
            var finding = isSecret ? secretFindings[s++] : piiFindings[p++];
            var start = Math.Max(finding.Start - offset, 0);
            if (finding.End <= offset || start < position)
            {
                continue;
            }

            builder ??= new StringBuilder(segment.Length + 32);
            builder.Append(segment, position, start - position).Append(isSecret ? RequestGuard.SecretPlaceholder : PiiTypes.Placeholder(finding.Kind));
            position = finding.End - offset;
            if (isSecret)
            {
                _secrets++;
            }
            else
            {
                _pii++;
            }
        }

        return builder is null ? segment : builder.Append(segment, position, segment.Length - position).ToString();
    }

    // Never changed: the overlap removal above runs only when both lists hold findings.
    private static readonly List<Finding> NoFindings = [];

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
