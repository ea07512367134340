using System.Text.RegularExpressions;

namespace Rampart.Guardrails.Pii;

/// <summary>MAC addresses: IEEE 802 notation with ':' or '-', and Cisco's dotted form.</summary>
internal static partial class PiiScanner
{
    [GeneratedRegex(@"(?:(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}|(?:[0-9A-Fa-f]{2}-){5}[0-9A-Fa-f]{2}|(?:[0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4})", Linear)]
    private static partial Regex MacPattern();

    private static bool IsMac(string text, int start, int length)
    {
        // Six groups exactly: a seventh group on either side makes it something else (an IPv6 address, a longer ID).
        var end = start + length;
        var groupBefore = start >= 2 && text[start - 1] is ':' or '-' or '.' && char.IsAsciiHexDigit(text[start - 2]);
        var groupAfter = end + 1 < text.Length && text[end] is ':' or '-' or '.' && char.IsAsciiHexDigit(text[end + 1]);
        var candidate = text.AsSpan(start, length);

        // All-digit hyphenated groups ("12-34-56-78-90-12") read as a reference number as often as a MAC: want a hex letter.
        var hasLetter = candidate.ContainsAnyInRange('a', 'f') || candidate.ContainsAnyInRange('A', 'F');
        return !groupBefore && !groupAfter && (hasLetter || candidate.Contains(':'));
    }
}
