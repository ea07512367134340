using System.Buffers;

namespace Rampart.Guardrails.Secrets;

/// <summary>
/// Finds secrets in a text. A single vectorised pass looks for every rule's keywords; only rules whose keyword
/// occurs run their (linear-time) pattern. Ordinary chat text usually triggers no rule at all.
/// </summary>
internal sealed class SecretScanner
{
    private readonly IReadOnlyList<SecretRule> _rules;
    private readonly SearchValues<string>[] _keywordSets;
    private readonly (string Keyword, StringComparison Comparison)[] _shortKeywords;

    public SecretScanner(IReadOnlyList<SecretRule> rules)
    {
        _rules = rules;

        // One multi-string search per comparison and keyword length (3, 4+): a set mixing two-letter keywords with
        // long ones, or folding case for issuers' case-sensitive prefixes, searches several times slower. The few
        // two-letter keywords ("SK", "Q~") are single-string searches, which are vectorised and fast.
        var keywords = rules.SelectMany(r => r.Keywords.Select(k => (Keyword: k, Comparison: r.KeywordComparison))).Distinct().ToList();
        _shortKeywords = keywords.Where(k => k.Keyword.Length <= 2).ToArray();
        LongestKeyword = keywords.Max(k => k.Keyword.Length);
        _keywordSets = keywords.Where(k => k.Keyword.Length > 2)
            .GroupBy(k => (k.Comparison, Long: k.Keyword.Length > 3))
            .Select(g => SearchValues.Create(g.Select(k => k.Keyword).Distinct().ToArray(), g.Key.Comparison))
            .ToArray();
    }

    public static SecretScanner Default { get; } = new(SecretRules.All);

    /// <summary>The length of the longest keyword: a caller that scans a growing text piece by piece finds every new keyword in the new piece and the characters before it.</summary>
    public int LongestKeyword { get; }

    /// <summary>Whether any rule's keyword occurs in the text: without one, <see cref="Scan"/> finds nothing.</summary>
    public bool MayFind(ReadOnlySpan<char> text) => ContainsAnyKeyword(text);

    public List<Finding> Scan(string text)
    {
        if (!ContainsAnyKeyword(text))
        {
            return [];
        }

        var findings = new FindingSet(text.Length);

        foreach (var rule in _rules)
        {
            if (!ContainsKeyword(text, rule))
            {
                continue;
            }

            foreach (var match in rule.Pattern.EnumerateMatches(text))
            {
                // EnumerateMatches gives no groups; re-match this one span to read the secret group.
                var found = rule.Pattern.Match(text, match.Index, match.Length);
                var group = found.Groups["secret"];
                var (start, length) = group.Success ? (group.Index, group.Length) : (match.Index, match.Length);
                var value = text.AsSpan(start, length);
                if ((rule.WholeToken && !IsWholeToken(text, start, length))
                    || SecretRules.IsPlaceholder(value)
                    || (rule.MinEntropy > 0 && Entropy.ShannonBits(value) < rule.MinEntropy)
                    || (rule.Validate is { } validate && !validate(value.ToString())))
                {
                    continue;
                }

                if (!findings.OverlapsAny(start, length))
                {
                    findings.Add(new Finding(rule.Kind, start, length));
                }
            }
        }

        return findings.ToSortedList();
    }

    private static readonly SearchValues<char> TokenChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

    private static bool IsWholeToken(string text, int start, int length) =>
        (start == 0 || !TokenChars.Contains(text[start - 1])) && (start + length == text.Length || !TokenChars.Contains(text[start + length]));

    private bool ContainsAnyKeyword(ReadOnlySpan<char> text)
    {
        foreach (var set in _keywordSets)
        {
            if (text.IndexOfAny(set) >= 0)
            {
                return true;
            }
        }

        foreach (var (keyword, comparison) in _shortKeywords)
        {
            if (text.Contains(keyword, comparison))
            {
                return true;
            }
        }

        return false;
    }

    private static bool ContainsKeyword(string text, SecretRule rule)
    {
        foreach (var keyword in rule.Keywords)
        {
            if (text.Contains(keyword, rule.KeywordComparison))
            {
                return true;
            }
        }

        return false;
    }

}
