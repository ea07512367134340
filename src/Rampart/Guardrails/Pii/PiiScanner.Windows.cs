using System.Buffers;

namespace Rampart.Guardrails.Pii;

/// <summary>
/// Where the patterns run. Each window is a maximal run of the characters its patterns are made of (or, for dates of
/// birth, the reach of a context word), widened so that word boundaries read as they do in the whole text: a pattern
/// finds in a window exactly what it would find there in the whole text.
/// </summary>
internal static partial class PiiScanner
{
    private static readonly SearchValues<char> ClusterChars = SearchValues.Create("0123456789 -.()+");

    /// <summary>
    /// Windows around runs of digits and number separators that hold four or more digits, widened by two characters
    /// on the left (a passport's letter, a NINO's two-letter prefix) and one on the right (a NINO's suffix letter).
    /// </summary>
    private static IEnumerable<(int Start, int Length)> DigitClusters(string text)
    {
        var position = 0;
        while (position < text.Length)
        {
            var first = text.AsSpan(position).IndexOfAny(Digits);
            if (first < 0)
            {
                yield break;
            }

            var start = position + first;
            var end = start;
            var digits = 0;
            while (end < text.Length && ClusterChars.Contains(text[end]))
            {
                if (char.IsAsciiDigit(text[end]))
                {
                    digits++;
                }

                end++;
            }

            if (digits >= 4)
            {
                // Separators may lead the number too ("(415) 555…", "+44 …"): walk back over them.
                var from = start;
                while (from > 0 && ClusterChars.Contains(text[from - 1]))
                {
                    from--;
                }

                var windowStart = Math.Max(0, from - 2);
                var windowEnd = Math.Min(text.Length, end + 1);
                yield return (windowStart, windowEnd - windowStart);
            }

            position = Math.Max(end, start + 1);
        }
    }

    private static readonly SearchValues<char> EmailChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-@");

    /// <summary>
    /// Runs of the characters an e-mail address is made of that hold an '@'. Without them the e-mail pattern walked
    /// every word of a long prompt (nearly every letter can start a local part) for the one address it held.
    /// </summary>
    private static IEnumerable<(int Start, int Length)> EmailWindows(string text)
    {
        var position = 0;
        while (position < text.Length)
        {
            var at = text.AsSpan(position).IndexOf('@');
            if (at < 0)
            {
                yield break;
            }

            var (start, end) = Run(text, position + at, EmailChars);
            yield return (start, end - start);
            position = end;
        }
    }

    private static readonly SearchValues<char> IbanChars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ");

    /// <summary>Runs of upper-case letters, digits and spaces that contain an IBAN's start: two capitals and two digits.</summary>
    private static IEnumerable<(int Start, int Length)> IbanWindows(string text)
    {
        var position = 0;
        while (position < text.Length)
        {
            var found = text.AsSpan(position).IndexOfAny(Digits);
            if (found < 0)
            {
                yield break;
            }

            var digit = position + found;
            if (digit >= 2 && digit + 1 < text.Length && char.IsAsciiLetterUpper(text[digit - 2]) && char.IsAsciiLetterUpper(text[digit - 1])
                && char.IsAsciiDigit(text[digit + 1]))
            {
                var (start, end) = Run(text, digit, IbanChars);
                yield return Widen(text, start, end);
                position = end;
            }
            else
            {
                position = digit + 1;
            }
        }
    }

    private static readonly SearchValues<char> HexRunChars = SearchValues.Create("0123456789ABCDEFabcdef:.-");
    private static readonly SearchValues<char> HexSeparators = SearchValues.Create(":.-");

    /// <summary>
    /// Runs of hex digits and ':', '.', '-' with the separators an IPv6 address (two colons or more) or a MAC address
    /// (five colons or hyphens, or two dots) needs. Prose has plenty of these characters but rarely such runs.
    /// </summary>
    private static IEnumerable<(int Start, int Length)> HexClusters(string text)
    {
        var position = 0;
        while (position < text.Length)
        {
            var found = text.AsSpan(position).IndexOfAny(HexSeparators);
            if (found < 0)
            {
                yield break;
            }

            var (start, end) = Run(text, position + found, HexRunChars);
            var run = text.AsSpan(start, end - start);
            if (run.Count(':') >= 2 || run.Count('-') >= 5 || run.Count('.') >= 2)
            {
                yield return Widen(text, start, end);
            }

            position = end + 1;
        }
    }

    private static readonly SearchValues<char> WalletStarts = SearchValues.Create("13bB0");

    /// <summary>
    /// Words long enough to be a wallet address (14+ characters) that start like one: '1' or '3' (Base58Check),
    /// "bc1" (bech32), "0x" (Ethereum).
    /// </summary>
    private static IEnumerable<(int Start, int Length)> WalletWindows(string text)
    {
        var position = 0;
        while (position < text.Length)
        {
            var found = text.AsSpan(position).IndexOfAny(WalletStarts);
            if (found < 0)
            {
                yield break;
            }

            var start = position + found;
            var anchored = text[start] switch
            {
                '0' => start + 1 < text.Length && text[start + 1] == 'x',
                'b' or 'B' => start + 2 < text.Length && text[start + 1] is 'c' or 'C' && text[start + 2] == '1',
                _ => true,
            };
            if (!anchored || (start > 0 && IsWordChar(text[start - 1])))
            {
                position = start + 1;
                continue;
            }

            var end = start;
            while (end < text.Length && IsWordChar(text[end]))
            {
                end++;
            }

            if (end - start >= 14)
            {
                yield return Widen(text, start, end);
            }

            position = Math.Max(end, start + 1);
        }
    }

    private static readonly SearchValues<string> DateContextWords = SearchValues.Create(DateContext, StringComparison.OrdinalIgnoreCase);

    /// <summary>From each date-of-birth context word to as far as a date it introduces could reach.</summary>
    private static IEnumerable<(int Start, int Length)> DateContextWindows(string text)
    {
        var position = 0;
        while (position < text.Length)
        {
            var found = text.AsSpan(position).IndexOfAny(DateContextWords);
            if (found < 0)
            {
                yield break;
            }

            var start = position + found;
            var end = Math.Min(text.Length, start + DateContextReach + MaxDateLength);
            yield return (start, end - start);
            position = start + 1;
        }
    }

    private static (int Start, int End) Run(string text, int index, SearchValues<char> chars)
    {
        var start = index;
        while (start > 0 && chars.Contains(text[start - 1]))
        {
            start--;
        }

        var end = index;
        while (end < text.Length && chars.Contains(text[end]))
        {
            end++;
        }

        return (start, end);
    }

    private static (int Start, int Length) Widen(string text, int start, int end)
    {
        var windowStart = Math.Max(0, start - 1);
        return (windowStart, Math.Min(text.Length, end + 1) - windowStart);
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
