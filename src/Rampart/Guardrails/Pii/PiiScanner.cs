using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Rampart.Guardrails.Pii;

/// <summary>
/// Finds personal data in a text. Each type has a linear-time candidate pattern and a validator that does the
/// real work: Luhn and issuer ranges for cards, mod-97 and country lengths for IBANs, parsing for IP addresses,
/// the SSA's invalid ranges for SSNs, numbering-plan rules and context words for phone numbers, Base58Check,
/// bech32 and EIP-55 for wallets, ABA and mod-11 check digits for routing and NHS numbers.
/// </summary>
internal static partial class PiiScanner
{
    private const RegexOptions Linear = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;
    private static readonly SearchValues<char> Digits = SearchValues.Create("0123456789");

    public static List<Finding> Scan(string text) => Scan(text, windowed: true);

    private static readonly SearchValues<char> AtOrDigits = SearchValues.Create("@0123456789");

    /// <summary>
    /// Whether <see cref="Scan(string)"/> could find anything: every type needs an '@' (e-mail), a run of hex digits and
    /// separators (IPv6, MAC) or a digit (all the others), as the early returns of the scan spell out. Cheaper than the
    /// scan, for callers that scan many small texts, most of them plain words.
    /// </summary>
    public static bool MayFind(string text) => text.AsSpan().IndexOfAny(AtOrDigits) >= 0 || HexClusters(text).Any();

    /// <summary>
    /// <paramref name="windowed"/>: every pattern runs only inside windows around cheap anchors instead of over the whole
    /// text — runs of address characters around an '@' for e-mail, digit clusters for the digit-based types,
    /// uppercase-pair-and-two-digits for IBANs, runs of hex digits and separators for IPv6 and MAC addresses, word starts
    /// for wallets, context words for dates of birth.
    /// Each window holds every span its patterns could match, so the result is the same; the whole-text scan is kept as
    /// the reference the windowed one is tested against. Order matters: the first detector to claim a span keeps it.
    /// </summary>
    internal static List<Finding> Scan(string text, bool windowed)
    {
        if (windowed && !MayFind(text))
        {
            return [];
        }

        var findings = new FindingSet(text.Length);
        (int Start, int Length)[] whole = [(0, text.Length)];
        if (text.Contains('@', StringComparison.Ordinal))
        {
            foreach (var (start, length) in windowed ? EmailWindows(text) : whole)
            {
                Collect(findings, text, start, length, EmailPattern(), PiiTypes.Email, static (_, _, _) => true, WordEdges.End);
            }
        }

        foreach (var (start, length) in windowed ? HexClusters(text) : whole)
        {
            Collect(findings, text, start, length, Ipv6Pattern(), PiiTypes.IpAddress, static (t, s, l) => IsIpv6(t, s, l), WordEdges.None);
            Collect(findings, text, start, length, MacPattern(), PiiTypes.MacAddress, static (t, s, l) => IsMac(t, s, l));
        }

        if (text.AsSpan().IndexOfAny(Digits) < 0)
        {
            return findings.ToSortedList(); // every other type holds at least one digit
        }

        foreach (var (start, length) in windowed ? DateContextWindows(text) : whole)
        {
            Collect(findings, text, start, length, DatePattern(), PiiTypes.DateOfBirth, static (t, s, l) => IsDateOfBirth(t, s, l));
        }

        foreach (var (start, length) in windowed ? IbanWindows(text) : whole)
        {
            Collect(findings, text, start, length, IbanPattern(), PiiTypes.Iban, static (t, s, l) => IsIban(t.AsSpan(s, l)));
        }

        foreach (var (start, length) in windowed ? WalletWindows(text) : whole)
        {
            Collect(findings, text, start, length, Base58AddressPattern(), PiiTypes.CryptoWallet, static (t, s, l) => IsBase58Address(t, s, l));
            Collect(findings, text, start, length, SegwitAddressPattern(), PiiTypes.CryptoWallet, static (t, s, l) => IsSegwitAddress(t, s, l));
            Collect(findings, text, start, length, EthereumAddressPattern(), PiiTypes.CryptoWallet, static (t, s, l) => IsEthereumAddress(t, s, l));
        }

        foreach (var (start, length) in windowed ? DigitClusters(text) : whole)
        {
            // Cheap necessary conditions first: each pattern runs only where its validator could accept something.
            var digits = CountDigits(text.AsSpan(start, length));
            if (digits >= 13)
            {
                Collect(findings, text, start, length, CardPattern(), PiiTypes.CreditCard, static (t, s, l) => IsCard(t.AsSpan(s, l)));
            }

            if (digits >= 9 && ContextReaches(text, start, length, RoutingContext))
            {
                Collect(findings, text, start, length, NineDigitsPattern(), PiiTypes.UsBankRouting, static (t, s, l) => IsBankRouting(t, s, l));
            }

            if (digits >= 8 && ContextReaches(text, start, length, PassportContext))
            {
                Collect(findings, text, start, length, PassportPattern(), PiiTypes.UsPassport, static (t, s, l) => IsUsPassport(t, s, l));
            }

            if (digits >= 9)
            {
                Collect(findings, text, start, length, SsnPattern(), PiiTypes.UsItin, static (t, s, l) => IsItin(t, s, l));
                Collect(findings, text, start, length, SsnPattern(), PiiTypes.Ssn, static (t, s, l) => IsSsn(t, s, l));
            }

            if (digits >= 6 && text.AsSpan(start, length).ContainsAnyInRange('A', 'Z'))
            {
                Collect(findings, text, start, length, NinoPattern(), PiiTypes.UkNino, static (t, s, l) => IsNino(t, s, l));
            }

            if (digits >= 10)
            {
                Collect(findings, text, start, length, NhsPattern(), PiiTypes.UkNhs, static (t, s, l) => IsNhs(t, s, l));
            }

            if (digits >= 8)
            {
                Collect(findings, text, start, length, PhonePattern(), PiiTypes.Phone, static (t, s, l) => IsPhone(t, s, l), WordEdges.None);
            }

            if (text.AsSpan(start, length).Count('.') >= 3)
            {
                Collect(findings, text, start, length, Ipv4Pattern(), PiiTypes.IpAddress, static (t, s, l) => IsIpv4(t, s, l));
            }
        }

        return findings.ToSortedList();
    }

    /// <summary>Which ends of a match may not touch a word character: ASCII letter, digit or '_'.</summary>
    [Flags]
    private enum WordEdges
    {
        None = 0,
        Start = 1,
        End = 2,
        Both = Start | End,
    }

    /// <summary>
    /// Runs <paramref name="pattern"/> over a window and validates each candidate. The word boundaries are checked here
    /// rather than with <c>\b</c> in the patterns: a <c>\b</c> makes the NonBacktracking engine build its tables over the
    /// Unicode word-character set, ≈ 300 KB more per pattern. The check reproduces what the <c>\b</c> did: a candidate
    /// glued to a word on the left is dropped and the search resumes at the next word start (no match can start in
    /// between); one glued on the right is cut back to its longest match ending before a non-word character inside it.
    /// Only ASCII counts as a word character, so a number written against Chinese or Japanese text is still found.
    /// </summary>
    private static void Collect(FindingSet findings, string text, int windowStart, int windowLength, Regex pattern, string type,
        Func<string, int, int, bool> validate, WordEdges edges = WordEdges.Both)
    {
        var windowEnd = windowStart + windowLength;
        var from = windowStart;
        while (from < windowEnd)
        {
            var resumeAt = windowEnd;
            foreach (var match in pattern.EnumerateMatches(text.AsSpan(from, windowEnd - from)))
            {
                var start = from + match.Index;
                var end = start + match.Length;
                var startHolds = !edges.HasFlag(WordEdges.Start) || start == 0 || !AsciiWordChars.Contains(text[start - 1]);
                var endHolds = !edges.HasFlag(WordEdges.End) || end == text.Length || !AsciiWordChars.Contains(text[end]);
                if (startHolds && endHolds)
                {
                    Validate(findings, text, start, end - start, type, validate);
                    continue;
                }

                // Every later candidate is searched afresh from where this one leaves off; each restart moves forward.
                end = startHolds ? BoundedEnd(pattern, text, start, end) : -1;
                if (end < 0)
                {
                    var nonWord = text.AsSpan(start, windowEnd - start).IndexOfAnyExcept(AsciiWordChars);
                    resumeAt = nonWord < 0 ? windowEnd : start + nonWord + 1;
                }
                else
                {
                    Validate(findings, text, start, end - start, type, validate);
                    resumeAt = end;
                }

                break;
            }

            from = resumeAt;
        }
    }

    private static void Validate(FindingSet findings, string text, int start, int length, string type, Func<string, int, int, bool> validate)
    {
        (start, length) = Trim(text, start, length);
        if (length > 0 && !findings.OverlapsAny(start, length) && validate(text, start, length))
        {
            findings.Add(new Finding(type, start, length));
        }
    }

    /// <summary>
    /// The end of the longest match at <paramref name="start"/> that is not followed by a word character, or -1: the
    /// candidate [start, end) ran into a word, and a shorter match can only end before one of its non-word characters.
    /// Each try is cut before the last of them, so the tries are at most as many as the candidate's separators.
    /// </summary>
    private static int BoundedEnd(Regex pattern, string text, int start, int end)
    {
        while (true)
        {
            var cut = text.AsSpan(start + 1, end - start - 1).LastIndexOfAnyExcept(AsciiWordChars);
            if (cut < 0)
            {
                return -1;
            }

            var limit = start + 1 + cut;
            var length = -1;
            foreach (var match in pattern.EnumerateMatches(text.AsSpan(start, limit - start)))
            {
                length = match.Index == 0 ? match.Length : -1;
                break;
            }

            if (length < 0)
            {
                return -1;
            }

            end = start + length;
            if (end == limit || !AsciiWordChars.Contains(text[end]))
            {
                return end;
            }
        }
    }

    private static readonly SearchValues<char> AsciiWordChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");

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

    [GeneratedRegex(@"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}", Linear)]
    private static partial Regex EmailPattern();

    // ---- cards ----

    [GeneratedRegex(@"[0-9](?:[ \-]?[0-9]){12,18}", Linear)]
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

    [GeneratedRegex(@"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?", Linear)]
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

    [GeneratedRegex(@"[0-9]{3}[ \-]?[0-9]{2}[ \-]?[0-9]{4}", Linear)]
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
    [GeneratedRegex(@"(?:\+[0-9]{1,3}[ \-.]?(?:\([0-9]{1,4}\)[ \-.]?)?[0-9]{1,4}(?:[ \-.]?[0-9]{1,4}){1,5}|\([0-9]{3}\) ?[0-9]{3}[\-. ][0-9]{4}|\b[0-9]{3}[\-. ][0-9]{3}[\-. ][0-9]{4}|\b0[0-9]{1,4}(?:[ \-.]?[0-9]{2,4}){2,4})\b", Linear)]
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

        if (candidate[0] != '+' && !IsStandaloneNumber(text, start, length))
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

    [GeneratedRegex(@"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}", Linear)]
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

    private static bool IsIpv6(string text, int start, int length)
    {
        // "Base::Add" holds the valid address "e::Add": an address is not glued to a word or a longer colon chain.
        var end = start + length;
        if ((start > 0 && (IsWordChar(text[start - 1]) || text[start - 1] is ':' or '.')) || (end < text.Length && (IsWordChar(text[end]) || text[end] == ':')))
        {
            return false;
        }

        var candidate = text.AsSpan(start, length);
        // Parsed, not just matched; and either the full eight groups or a "::" compression with real groups
        // around it, which times ("12:30:45") and MAC-like strings do not have.
        var colons = candidate.Count(':');
        var compressed = candidate.Contains("::", StringComparison.Ordinal);
        return (colons == 7 || (compressed && colons >= 2 && candidate.Length >= 6))
               && IPAddress.TryParse(candidate, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6;
    }

    // ---- context ----

    /// <summary>
    /// Whether one of <paramref name="words"/> starts a word within <paramref name="window"/> characters before
    /// <paramref name="start"/> ("call" counts, "recall" does not).
    /// </summary>
    private static bool HasContext(string text, int start, string[] words, int window = 40)
    {
        var from = Math.Max(0, start - window);
        var before = text.AsSpan(from, start - from);
        foreach (var word in words)
        {
            var offset = 0;
            while (offset < before.Length)
            {
                var found = before[offset..].IndexOf(word, StringComparison.OrdinalIgnoreCase);
                if (found < 0)
                {
                    break;
                }

                var at = from + offset + found;
                if (at == 0 || !char.IsLetter(text[at - 1]))
                {
                    return true;
                }

                offset += found + 1;
            }
        }

        return false;
    }

    private static int CountDigits(ReadOnlySpan<char> span)
    {
        var count = 0;
        var rest = span;
        int at;
        while ((at = rest.IndexOfAny(Digits)) >= 0)
        {
            count++;
            rest = rest[(at + 1)..];
        }

        return count;
    }

    /// <summary>Whether a context word occurs anywhere a match in this window could look back to (a necessary condition of <see cref="HasContext"/>).</summary>
    private static bool ContextReaches(string text, int start, int length, string[] words, int window = 40)
    {
        var from = Math.Max(0, start - window);
        var reach = text.AsSpan(from, start + length - from);
        foreach (var word in words)
        {
            if (reach.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Not the tail or head of a longer group of numbers ("ref 4212 0288 3543 8378" holds no phone number "0288 3543
    /// 8378"); a lone "1" before a North American number is its country code.
    /// </summary>
    private static bool IsStandaloneNumber(string text, int start, int length)
    {
        var end = start + length;
        var before = start >= 2 && text[start - 1] is ' ' or '-' or '.' && char.IsAsciiDigit(text[start - 2])
                     && !(text[start - 2] == '1' && (start == 2 || !char.IsAsciiDigit(text[start - 3]) && text[start - 3] != '+'));
        var after = end + 1 < text.Length && text[end] is ' ' or '-' or '.' && char.IsAsciiDigit(text[end + 1]);
        return !before && !after;
    }

    /// <summary>Not glued to a letter or digit on either side: a value cut out of a longer token is not that value.</summary>
    private static bool IsBounded(string text, int start, int length)
    {
        var end = start + length;
        return (start == 0 || !char.IsLetterOrDigit(text[start - 1])) && (end == text.Length || !char.IsLetterOrDigit(text[end]));
    }
}
