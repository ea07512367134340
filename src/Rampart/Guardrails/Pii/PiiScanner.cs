using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Rampart.Guardrails.Pii;

/// <summary>
/// Finds personal data in a text. Each type has a linear-time candidate pattern and a validator that does the
/// real work: Luhn and issuer ranges for cards, mod-97 and country lengths for IBANs, parsing for IP addresses,
/// the SSA's invalid ranges for SSNs, numbering-plan rules and context words for phone numbers.
/// </summary>
internal static partial class PiiScanner
{
    private const RegexOptions Linear = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;
    private static readonly SearchValues<char> Digits = SearchValues.Create("0123456789");

    public static List<Finding> Scan(string text) => Scan(text, windowed: true);

    /// <summary>
    /// <paramref name="windowed"/>: the digit-based patterns (cards, SSNs, phones, IPv4) run only inside "digit
    /// clusters" (runs of digits and separators holding at least four digits) instead of over the whole text, which
    /// ordinary prose rarely contains. The whole-text scan is kept as the reference the windowed one is tested against.
    /// </summary>
    internal static List<Finding> Scan(string text, bool windowed)
    {
        var findings = new List<Finding>();
        var hasDigit = text.AsSpan().IndexOfAny(Digits) >= 0;
        if (text.Contains('@', StringComparison.Ordinal))
        {
            Collect(findings, text, 0, text.Length, EmailPattern(), PiiTypes.Email, static (_, _, _) => true);
        }

        if (hasDigit)
        {
            Collect(findings, text, 0, text.Length, IbanPattern(), PiiTypes.Iban, static (t, s, l) => IsIban(t.AsSpan(s, l)));
            foreach (var (start, length) in windowed ? DigitClusters(text) : [(0, text.Length)])
            {
                Collect(findings, text, start, length, CardPattern(), PiiTypes.CreditCard, static (t, s, l) => IsCard(t.AsSpan(s, l)));
                Collect(findings, text, start, length, SsnPattern(), PiiTypes.Ssn, static (t, s, l) => IsSsn(t, s, l));
                Collect(findings, text, start, length, PhonePattern(), PiiTypes.Phone, static (t, s, l) => IsPhone(t, s, l));
                Collect(findings, text, start, length, Ipv4Pattern(), PiiTypes.IpAddress, static (t, s, l) => IsIpv4(t, s, l));
            }
        }

        if (text.Contains(':', StringComparison.Ordinal))
        {
            Collect(findings, text, 0, text.Length, Ipv6Pattern(), PiiTypes.IpAddress, static (t, s, l) => IsIpv6(t.AsSpan(s, l)));
        }

        findings.Sort((a, b) => a.Start.CompareTo(b.Start));
        return findings;
    }

    private static readonly SearchValues<char> ClusterChars = SearchValues.Create("0123456789 -.()+");

    /// <summary>
    /// Windows around runs of digits and number separators that hold four or more digits, widened by one character
    /// each side so that word boundaries and a leading '+' or '(' read as they do in the whole text.
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

                var windowStart = Math.Max(0, from - 1);
                var windowEnd = Math.Min(text.Length, end + 1);
                yield return (windowStart, windowEnd - windowStart);
            }

            position = Math.Max(end, start + 1);
        }
    }

    private static void Collect(List<Finding> findings, string text, int windowStart, int windowLength, Regex pattern, string type, Func<string, int, int, bool> validate)
    {
        foreach (var match in pattern.EnumerateMatches(text.AsSpan(windowStart, windowLength)))
        {
            var (start, length) = Trim(text, windowStart + match.Index, match.Length);
            if (length == 0 || Finding.OverlapsAny(findings, start, length) || !validate(text, start, length))
            {
                continue;
            }

            findings.Add(new Finding(type, start, length));
        }
    }

    /// <summary>Candidates may carry a trailing separator or dot from the surrounding sentence.</summary>
    private static (int Start, int Length) Trim(string text, int start, int length)
    {
        while (length > 0 && text[start + length - 1] is '.' or ' ' or '-')
        {
            length--;
        }

        return (start, length);
    }


    // ---- e-mail ----

    [GeneratedRegex(@"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}\b", Linear)]
    private static partial Regex EmailPattern();

    // ---- cards ----

    [GeneratedRegex(@"\b\d(?:[ \-]?\d){12,18}\b", Linear)]
    private static partial Regex CardPattern();

    private static bool IsCard(ReadOnlySpan<char> candidate)
    {
        Span<char> digits = stackalloc char[19];
        var count = 0;
        var separator = '\0';
        foreach (var c in candidate)
        {
            if (char.IsAsciiDigit(c))
            {
                digits[count++] = c;
            }
            else if (separator == '\0')
            {
                separator = c;
            }
            else if (separator != c)
            {
                return false; // "4111 1111-1111 1111" mixes separators: not how cards are written
            }
        }

        var number = digits[..count];
        return count is >= 13 and <= 19 && HasCardPrefix(number) && Checksums.Luhn(number) && number.ContainsAnyExcept(number[0]);
    }

    /// <summary>Issuer identification ranges of the card networks people actually carry.</summary>
    private static bool HasCardPrefix(ReadOnlySpan<char> n)
    {
        var two = (n[0] - '0') * 10 + (n[1] - '0');
        var four = two * 100 + (n[2] - '0') * 10 + (n[3] - '0');
        return n.Length switch
        {
            15 => two is 34 or 37, // American Express
            14 => two is 36 or 38 || (four >= 3000 && four <= 3059), // Diners Club
            _ => n[0] == '4' // Visa (13, 16, 19)
                 || (n.Length == 16 && (two is >= 51 and <= 55 || four is >= 2221 and <= 2720)) // Mastercard
                 || (n.Length >= 16 && (four == 6011 || two == 65 || four / 10 is >= 644 and <= 649)) // Discover
                 || (n.Length >= 16 && four is >= 3528 and <= 3589) // JCB
                 || (n.Length >= 16 && two == 62), // UnionPay
        };
    }

    // ---- IBAN ----

    [GeneratedRegex(@"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", Linear)]
    private static partial Regex IbanPattern();

    private static readonly Dictionary<string, int> IbanLengths = new(StringComparer.Ordinal)
    {
        ["AD"] = 24, ["AE"] = 23, ["AT"] = 20, ["BE"] = 16, ["BG"] = 22, ["BH"] = 22, ["BR"] = 29, ["CH"] = 21, ["CY"] = 28,
        ["CZ"] = 24, ["DE"] = 22, ["DK"] = 18, ["EE"] = 20, ["ES"] = 24, ["FI"] = 18, ["FO"] = 18, ["FR"] = 27, ["GB"] = 22,
        ["GI"] = 23, ["GL"] = 18, ["GR"] = 27, ["HR"] = 21, ["HU"] = 28, ["IE"] = 22, ["IL"] = 23, ["IS"] = 26, ["IT"] = 27,
        ["KW"] = 30, ["KZ"] = 20, ["LB"] = 28, ["LI"] = 21, ["LT"] = 20, ["LU"] = 20, ["LV"] = 21, ["MC"] = 27, ["MT"] = 31,
        ["NL"] = 18, ["NO"] = 15, ["PL"] = 28, ["PT"] = 25, ["QA"] = 29, ["RO"] = 24, ["RS"] = 22, ["SA"] = 24, ["SE"] = 24,
        ["SI"] = 19, ["SK"] = 24, ["SM"] = 27, ["TR"] = 26, ["UA"] = 29,
    };

    private static bool IsIban(ReadOnlySpan<char> candidate)
    {
        Span<char> compact = stackalloc char[candidate.Length];
        var length = 0;
        foreach (var c in candidate)
        {
            if (c != ' ')
            {
                compact[length++] = c;
            }
        }

        var iban = compact[..length];
        return IbanLengths.TryGetValue(iban[..2].ToString(), out var expected) && expected == length && Checksums.IbanMod97(iban);
    }

    // ---- SSN ----

    [GeneratedRegex(@"\b\d{3}[ \-]?\d{2}[ \-]?\d{4}\b", Linear)]
    private static partial Regex SsnPattern();

    private static bool IsSsn(string text, int start, int length)
    {
        var candidate = text.AsSpan(start, length);
        Span<char> d = stackalloc char[9];
        var count = 0;
        var separators = new List<char>(2);
        foreach (var c in candidate)
        {
            if (char.IsAsciiDigit(c))
            {
                d[count++] = c;
            }
            else
            {
                separators.Add(c);
            }
        }

        // Written as 123-45-6789 (one separator used twice); a bare nine-digit run needs an "SSN" nearby.
        var formatted = separators.Count == 2 && separators[0] == separators[1];
        if (!formatted && !(separators.Count == 0 && HasContext(text, start, SsnContext)))
        {
            return false;
        }

        var area = int.Parse(d[..3]);
        var group = int.Parse(d[3..5]);
        var serial = int.Parse(d[5..]);
        return area is not (0 or 666) && area < 900 && group != 0 && serial != 0;
    }

    private static readonly string[] SsnContext = ["ssn", "social security", "social-security", "taxpayer"];

    // ---- phone ----

    // International (+CC …) or national formats with the usual groupings; validated below.
    [GeneratedRegex(@"(?:\+\d{1,3}[ \-.]?(?:\(\d{1,4}\)[ \-.]?)?\d{1,4}(?:[ \-.]?\d{1,4}){1,5}|\(\d{3}\) ?\d{3}[\-. ]\d{4}|\b\d{3}[\-. ]\d{3}[\-. ]\d{4}|\b0\d{1,4}(?:[ \-.]?\d{2,4}){2,4})\b", Linear)]
    private static partial Regex PhonePattern();

    private static readonly string[] PhoneContext = ["phone", "tel", "call", "mobile", "cell", "fax", "whatsapp", "sms", "contact", "ring", "dial", "number"];

    private static bool IsPhone(string text, int start, int length)
    {
        var candidate = text.AsSpan(start, length);
        var digits = 0;
        var separators = 0;
        foreach (var c in candidate)
        {
            if (char.IsAsciiDigit(c))
            {
                digits++;
            }
            else if (c != '+')
            {
                separators++;
            }
        }

        if (start > 0 && (char.IsAsciiLetterOrDigit(text[start - 1]) || text[start - 1] is '.' or '/' or '-' or '#' or ':' or '_'))
        {
            return false; // part of an identifier, a date, a version or an order number
        }

        var end = start + length;
        if (end < text.Length && (text[end] is '.' or '/' or '-' or ':' or '_' || char.IsAsciiLetterOrDigit(text[end]))
            && !(text[end] == '.' && (end + 1 == text.Length || !char.IsAsciiDigit(text[end + 1]))))
        {
            return false;
        }

        if (candidate[0] == '+')
        {
            // E.164: at most 15 digits; real international numbers have at least 8.
            return digits is >= 8 and <= 15 && candidate[1] != '0';
        }

        if (candidate[0] == '(' || (digits == 10 && candidate[0] != '0'))
        {
            // North American Numbering Plan: area code and exchange start with 2-9, and are not 555-01xx fiction only.
            Span<char> d = stackalloc char[10];
            var n = 0;
            foreach (var c in candidate)
            {
                if (char.IsAsciiDigit(c) && n < 10)
                {
                    d[n++] = c;
                }
            }

            return digits == 10 && d[0] >= '2' && d[3] >= '2' && !(d[1] == '1' && d[2] == '1');
        }

        // National format starting with a trunk 0 (UK, France, Germany, Italy …): 10-11 digits written in groups,
        // or any grouping when a phone word is nearby.
        return candidate[0] == '0' && digits is >= 9 and <= 12 && (separators >= 1 && digits >= 10 || HasContext(text, start, PhoneContext));
    }

    // ---- IP addresses ----

    [GeneratedRegex(@"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", Linear)]
    private static partial Regex Ipv4Pattern();

    private static bool IsIpv4(string text, int start, int length)
    {
        var candidate = text.AsSpan(start, length);
        foreach (var range in candidate.Split('.'))
        {
            var octet = candidate[range];
            if ((octet.Length > 1 && octet[0] == '0') || int.Parse(octet) > 255)
            {
                return false;
            }
        }

        // "1.2.3.4.5" or "v1.2.3.4" are versions, not addresses.
        var end = start + length;
        if (end + 1 < text.Length && text[end] == '.' && char.IsAsciiDigit(text[end + 1]))
        {
            return false;
        }

        return start == 0 || (text[start - 1] is not ('.' or 'v' or 'V') && !HasContext(text, start, VersionContext, window: 12));
    }

    private static readonly string[] VersionContext = ["version", "release", "build"];

    [GeneratedRegex(@"(?:[0-9A-Fa-f]{1,4}:){1,7}(?:(?::[0-9A-Fa-f]{1,4}){1,7}|[0-9A-Fa-f]{1,4}|:)|::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{1,4}", Linear)]
    private static partial Regex Ipv6Pattern();

    private static bool IsIpv6(ReadOnlySpan<char> candidate)
    {
        // Parsed, not just matched; and either the full eight groups or a "::" compression with real groups
        // around it, which times ("12:30:45") and MAC-like strings do not have.
        var colons = candidate.Count(':');
        var compressed = candidate.Contains("::", StringComparison.Ordinal);
        return (colons == 7 || (compressed && colons >= 2 && candidate.Length >= 6))
               && IPAddress.TryParse(candidate, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6;
    }

    // ---- context ----

    private static bool HasContext(string text, int start, string[] words, int window = 40)
    {
        var from = Math.Max(0, start - window);
        var before = text.AsSpan(from, start - from);
        foreach (var word in words)
        {
            if (before.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
