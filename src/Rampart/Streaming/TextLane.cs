using System.Text;
using Rampart.Guardrails;
using Rampart.Guardrails.Rules;
using Rampart.Guardrails.Secrets;

namespace Rampart.Streaming;

/// <summary>
/// One stream of answer text (a choice's content, or one tool call's arguments) on its way back to the caller:
/// optionally scanned for secrets and PII the model produced, then with numbered placeholders put back to the
/// originals. It holds back only what must wait: a trailing fragment that could still grow into a known
/// placeholder, a trailing fragment that could be the start of the firewall's canary, and — when scanning — the
/// word (or number group) being written, so a value is never let out half-checked. Everything before that leaves
/// at once. <paramref name="trackKeywords"/> false scans every segment for secrets, the reference that tracking where
/// keywords were seen is tested against.
/// </summary>
internal sealed class TextLane(OutputScanner? scanner, PiiVault? vault, CanaryTrap? canary = null, bool trackKeywords = true)
{
    /// <summary>How much already-sent text is kept as context for the output scan ("password: " before a value).</summary>
    private const int ContextLength = 256;

    /// <summary>The most text held for scanning; beyond this the oldest part is checked and sent regardless.</summary>
    private const int MaxHeldForScan = 1024;

    private string _scanPending = "";

    // The context is the end of the last scanned text (from _contextStart on): no copy is made of it unless a
    // segment was redacted.
    private string _scanContext = "";
    private int _contextStart;

    // Where a secret rule's keyword was last possibly seen, counted in characters released by the scan: a rule can
    // only match a text that holds one of the keywords, so a segment is scanned for secrets only when one is in its
    // context (seen when that was released) or ends in the segment itself.
    private long _released;
    private long _keywordSeen = -1;

    private string _restorePending = "";
    private string _canaryPending = "";

    public bool HasPending => _scanPending.Length > 0 || _restorePending.Length > 0 || _canaryPending.Length > 0;

    public string Push(string delta)
    {
        delta = RedactCanary(delta, final: false);
        if (scanner is not null)
        {
            var text = _scanPending + delta;
            var boundary = OutputScanner.SafeBoundary(text);
            if (text.Length - boundary > MaxHeldForScan)
            {
                boundary = text.Length - MaxHeldForScan;
            }

            _scanPending = text[boundary..];
            delta = ScanSegment(text[..boundary]);
        }

        return Restore(delta, final: false);
    }

    /// <summary>The end of this text: release whatever is held, checked and restored.</summary>
    public string Flush()
    {
        var canaryRest = RedactCanary("", final: true);
        var rest = scanner is null ? canaryRest : ScanSegment(_scanPending + canaryRest);
        _scanPending = "";
        return Restore(rest, final: true);
    }

    /// <summary>The canary comes out first, before scanning or restoring can split or change it.</summary>
    private string RedactCanary(string delta, bool final) =>
        canary is null ? delta : canary.Redact(_canaryPending + delta, final, out _canaryPending);

    private string ScanSegment(string segment)
    {
        if (segment.Length == 0)
        {
            return segment;
        }

        var context = _scanContext.AsSpan(_contextStart);
        var text = context.IsEmpty ? segment : string.Concat(context, segment);
        var lookBack = Math.Min(context.Length, SecretScanner.Default.LongestKeyword - 1);
        var keyword = !trackKeywords || _keywordSeen > _released - context.Length
            || SecretScanner.Default.MayFind(text.AsSpan(context.Length - lookBack));
        var redacted = scanner!.Redact(text, segment, secrets: keyword);

        var sent = ReferenceEquals(redacted, segment) ? text : context.IsEmpty ? redacted : string.Concat(context, redacted);
        (_scanContext, _contextStart) = (sent, Math.Max(0, sent.Length - ContextLength));
        _released += redacted.Length;
        if (keyword || !ReferenceEquals(redacted, segment))
        {
            // A placeholder written into the context may hold a keyword too ("[REDACTED_SECRET]").
            _keywordSeen = _released;
        }

        return redacted;
    }

    private string Restore(string delta, bool final)
    {
        if (vault is null || vault.Count == 0)
        {
            return delta;
        }

        var text = _restorePending.Length == 0 ? delta : _restorePending + delta;
        _restorePending = "";
        var open = text.IndexOf('[', StringComparison.Ordinal);
        if (open < 0)
        {
            return text;
        }

        var output = new StringBuilder(text.Length);
        var position = 0;
        while (open >= 0)
        {
            output.Append(text, position, open - position);
            var length = vault.MatchAt(text.AsSpan(open), out var original);
            if (length > 0)
            {
                output.Append(original);
                position = open + length;
            }
            else if (length < 0 && !final)
            {
                // Could still become a placeholder: wait for the next piece.
                _restorePending = text[open..];
                return output.ToString();
            }
            else
            {
                output.Append('[');
                position = open + 1;
            }

            open = text.IndexOf('[', position);
        }

        return output.Append(text, position, text.Length - position).ToString();
    }
}
