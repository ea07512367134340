using System.Text.RegularExpressions;

namespace Rampart.Guardrails.Pii;

/// <summary>
/// Identity and account numbers: US ITIN, ABA routing number and passport number, UK National Insurance and NHS
/// numbers, dates of birth. Those whose format alone says little (nine digits, a date) need a context word.
/// </summary>
internal static partial class PiiScanner
{
    // ---- US ITIN: 9XX-[70-88|90-92|94-99]-XXXX, written like an SSN ----

    private static readonly string[] ItinContext = ["itin", "taxpayer identification", "individual taxpayer", "tax id"];

    private static bool IsItin(string text, int start, int length)
    {
        if (!TryDigits(text.AsSpan(start, length), stackalloc char[9], out var d, out var formatted) || d[0] != '9')
        {
            return false;
        }

        var group = (d[3] - '0') * 10 + (d[4] - '0');
        return group is (>= 70 and <= 88) or (>= 90 and <= 92) or (>= 94 and <= 99)
               && (formatted || HasContext(text, start, ItinContext)) && IsBounded(text, start, length);
    }

    /// <summary>The nine digits of an SSN-shaped candidate, and whether it was written with one separator used twice.</summary>
    private static bool TryDigits(ReadOnlySpan<char> candidate, Span<char> buffer, out ReadOnlySpan<char> digits, out bool formatted)
    {
        var count = 0;
        var separators = 0;
        var separator = '\0';
        var consistent = true;
        foreach (var c in candidate)
        {
            if (char.IsAsciiDigit(c))
            {
                if (count == buffer.Length)
                {
                    digits = default;
                    formatted = false;
                    return false;
                }

                buffer[count++] = c;
            }
            else
            {
                consistent &= separator == '\0' || separator == c;
                separator = c;
                separators++;
            }
        }

        digits = buffer[..count];
        formatted = separators == 2 && consistent;
        return count == buffer.Length && (separators == 0 || formatted);
    }

    // ---- US bank routing (ABA) number ----

    [GeneratedRegex(@"[0-9]{9}", Linear)]
    private static partial Regex NineDigitsPattern();

    private static readonly string[] RoutingContext = ["routing", "aba", "rtn", "transit number", "routing transit"];

    private static bool IsBankRouting(string text, int start, int length)
    {
        var digits = text.AsSpan(start, length);
        var prefix = (digits[0] - '0') * 10 + (digits[1] - '0');

        // The first two digits are a Federal Reserve district (00-12), a thrift (21-32), electronic (61-72) or traveller's cheque (80).
        return prefix is (>= 0 and <= 12) or (>= 21 and <= 32) or (>= 61 and <= 72) or 80
               && Checksums.AbaRouting(digits) && digits.ContainsAnyExcept('0')
               && IsBounded(text, start, length) && HasContext(text, start, RoutingContext);
    }

    // ---- US passport: nine digits, or a letter and eight digits (next-generation books) ----

    // "[A-Z]?[0-9]{8,9}" spelled without a leading optional element: NonBacktracking drops leftmost matches of that shape
    // ("E 123456789" gives "23456789"; dotnet/runtime PR #130176). A \b in front used to hide it.
    [GeneratedRegex(@"(?:[A-Z][0-9]|[0-9])[0-9]{7,8}", Linear)]
    private static partial Regex PassportPattern();

    private static readonly string[] PassportContext = ["passport"];

    private static bool IsUsPassport(string text, int start, int length)
    {
        var candidate = text.AsSpan(start, length);
        var shaped = length == 9;
        return shaped && candidate[^8..].ContainsAnyExcept(candidate[^1]) && IsBounded(text, start, length)
               && HasContext(text, start, PassportContext);
    }

    // ---- UK National Insurance number: AB 12 34 56 C ----

    [GeneratedRegex(@"[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]", Linear)]
    private static partial Regex NinoPattern();

    private static bool IsNino(string text, int start, int length)
    {
        var candidate = text.AsSpan(start, length);
        var (first, second) = (candidate[0], candidate[1]);

        // HMRC never allocates D, F, I, Q, U, V as either letter, nor O second, nor the prefixes below.
        if ("DFIQUV".Contains(first, StringComparison.Ordinal) || "DFIOQUV".Contains(second, StringComparison.Ordinal)
            || candidate[..2] is "BG" or "GB" or "KN" or "NK" or "NT" or "TN" or "ZZ")
        {
            return false;
        }

        // Written together ("AB123456C"), in pairs ("AB 12 34 56 C") or as prefix, number, suffix ("AB 123456 C").
        var spaces = candidate.Count(' ');
        var shaped = spaces == 0 || spaces == 4 || (spaces == 2 && candidate[2] == ' ' && candidate[^2] == ' ');
        return shaped && IsBounded(text, start, length);
    }

    // ---- UK NHS number: ten digits, usually 3-3-4, mod-11 check digit ----

    [GeneratedRegex(@"[0-9]{3}[ \-]?[0-9]{3}[ \-]?[0-9]{4}", Linear)]
    private static partial Regex NhsPattern();

    private static readonly string[] NhsContext = ["nhs", "health service", "patient", "chi number"];

    private static bool IsNhs(string text, int start, int length)
    {
        var candidate = text.AsSpan(start, length);
        Span<char> digits = stackalloc char[10];
        var count = 0;
        var separators = 0;
        foreach (var c in candidate)
        {
            if (char.IsAsciiDigit(c))
            {
                digits[count++] = c;
            }
            else
            {
                separators++;
            }
        }

        var spaced = separators == 2 && candidate[3] == ' ' && candidate[7] == ' ';
        var consistent = separators == 0 || (separators == 2 && candidate[3] == candidate[7]);
        if (!consistent || !Checksums.NhsMod11(digits) || !digits.ContainsAnyExcept(digits[0]) || !IsBounded(text, start, length)
            || !IsStandaloneNumber(text, start, length))
        {
            return false;
        }

        // "NHS number" nearby settles it. Without it, only the NHS's own 3-3-4 spacing counts, and not where a phone
        // word says this is a (North American) phone number written with spaces.
        return HasContext(text, start, NhsContext) || (spaced && !HasContext(text, start, PhoneContext));
    }

    // ---- date of birth ----

    private const int DateContextReach = 40;
    private const int MaxDateLength = 36;

    private static readonly string[] DateContext =
        ["born", "dob", "d.o.b", "birth", "geboren", "geburtsdatum", "naissance", "nato il", "nata il", "nacido", "nacida", "nacimiento"];

    // ISO (1990-05-17), numeric day/month/year either way round (17/05/1990, 05.17.90), and written months
    // (17 May 1990, 17th of May 1990, May 17, 1990).
    [GeneratedRegex(@"(?:[0-9]{4}[\-/.][0-9]{1,2}[\-/.][0-9]{1,2}|[0-9]{1,2}[\-/.][0-9]{1,2}[\-/.](?:[0-9]{4}|[0-9]{2})|[0-9]{1,2}(?:st|nd|rd|th)?\.?(?: of)? [a-z]{3,9}\.?,? [0-9]{4}|[a-z]{3,9}\.? [0-9]{1,2}(?:st|nd|rd|th)?,? [0-9]{4})", Linear | RegexOptions.IgnoreCase)]
    private static partial Regex DatePattern();

    private static readonly string[] Months = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

    private static bool IsDateOfBirth(string text, int start, int length)
    {
        if (!IsBounded(text, start, length) || !HasContext(text, start, DateContext, DateContextReach))
        {
            return false;
        }

        Span<int> numbers = stackalloc int[3];
        Span<int> widths = stackalloc int[3];
        var count = 0;
        var month = 0;
        var candidate = text.AsSpan(start, length);
        var separators = new HashSet<char>();
        for (var i = 0; i < candidate.Length;)
        {
            var c = candidate[i];
            var j = i;
            if (char.IsAsciiDigit(c))
            {
                while (j < candidate.Length && char.IsAsciiDigit(candidate[j]))
                {
                    j++;
                }

                if (count == 3)
                {
                    return false;
                }

                numbers[count] = int.Parse(candidate[i..j]);
                widths[count++] = j - i;
            }
            else if (char.IsAsciiLetter(c))
            {
                while (j < candidate.Length && char.IsAsciiLetter(candidate[j]))
                {
                    j++;
                }

                var word = candidate[i..j];
                if (!IsOrdinalSuffixOrOf(word, count))
                {
                    month = MonthNumber(word);
                    if (month == 0)
                    {
                        return false;
                    }
                }
            }
            else
            {
                if (c is '-' or '/' or '.')
                {
                    separators.Add(c);
                }

                j++;
            }

            i = j;
        }

        if (month > 0)
        {
            return count == 2 && widths[1] == 4 && IsPastDate(numbers[1], month, numbers[0]);
        }

        // Numeric: the same separator twice; year first (ISO) or last, and day/month in either order.
        if (count != 3 || separators.Count != 1)
        {
            return false;
        }

        if (widths[0] == 4)
        {
            return IsPastDate(numbers[0], numbers[1], numbers[2]);
        }

        var year = widths[2] == 4 ? numbers[2] : TwoDigitYear(numbers[2]);
        return IsPastDate(year, numbers[1], numbers[0]) || IsPastDate(year, numbers[0], numbers[1]);
    }

    private static bool IsOrdinalSuffixOrOf(ReadOnlySpan<char> word, int numbersSoFar) =>
        word.Equals("of", StringComparison.OrdinalIgnoreCase)
        || (numbersSoFar > 0 && (word.Equals("st", StringComparison.OrdinalIgnoreCase) || word.Equals("nd", StringComparison.OrdinalIgnoreCase)
                                 || word.Equals("rd", StringComparison.OrdinalIgnoreCase) || word.Equals("th", StringComparison.OrdinalIgnoreCase)));

    /// <summary>A month's full name or an abbreviation of it ("Sep", "Sept"); 0 when the word is not a month.</summary>
    private static int MonthNumber(ReadOnlySpan<char> word)
    {
        for (var i = 0; i < Months.Length; i++)
        {
            if (word.Length >= 3 && Months[i].AsSpan().StartsWith(word, StringComparison.OrdinalIgnoreCase))
            {
                return i + 1;
            }
        }

        return 0;
    }

    private static int TwoDigitYear(int yy)
    {
        var century = DateTime.UtcNow.Year % 100;
        return yy <= century ? 2000 + yy : 1900 + yy;
    }

    private static bool IsPastDate(int year, int month, int day) =>
        year >= 1900 && month is >= 1 and <= 12 && day >= 1 && day <= DateTime.DaysInMonth(Math.Min(year, 9999), month)
        && new DateTime(year, month, day, 0, 0, 0, DateTimeKind.Utc) <= DateTime.UtcNow;
}
