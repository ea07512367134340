using System.Text;
using System.Text.RegularExpressions;

namespace Rampart.Guardrails.Rules;

/// <summary>
/// A named blocked topic. <see cref="Keywords"/> match whole words, <see cref="Phrases"/> match anywhere (both ignore
/// case and treat any run of whitespace as one space), <see cref="Patterns"/> are .NET regular expressions run with the
/// linear-time engine (<see cref="RegexOptions.NonBacktracking"/>, case-insensitive), so a pattern cannot be made to
/// backtrack; look-arounds and backreferences are refused when the policy is saved.
/// </summary>
internal sealed record TopicRule
{
    public const int MaxPatternLength = 1000;

    private const RegexOptions PatternOptions = RegexOptions.NonBacktracking | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant;

    private Matcher? _matcher;

    public string Name { get; set; } = "";

    public IReadOnlyList<string>? Keywords { get; set; }

    public IReadOnlyList<string>? Phrases { get; set; }

    public IReadOnlyList<string>? Patterns { get; set; }

    /// <summary>Whether the rule matches <paramref name="text"/>, given its <see cref="Normalize"/>d form.</summary>
    public bool Matches(string text, string normalized)
    {
        var matcher = _matcher ??= new Matcher(
            [.. (Keywords ?? []).Select(Normalize).Where(k => k.Length > 0)],
            [.. (Phrases ?? []).Select(Normalize).Where(p => p.Length > 0)],
            [.. (Patterns ?? []).Select(p => RegexScratch.Released(new Regex(p, PatternOptions)))]);
        return matcher.Keywords.Any(k => ContainsWord(normalized, k))
            || matcher.Phrases.Any(p => normalized.Contains(p, StringComparison.Ordinal))
            || matcher.Patterns.Any(r => r.IsMatch(text));
    }

    public string? Validate(int index)
    {
        var at = $"blocked_topics[{index}]";
        if (!Workspaces.WorkspaceNames.IsValid(Name))
        {
            return $"{at}.name must be 1-63 lower-case letters, digits, '.', '_' or '-' (it is shown in errors and headers)";
        }

        var terms = (Keywords ?? []).Concat(Phrases ?? []).ToList();
        if (terms.Count + (Patterns?.Count ?? 0) == 0)
        {
            return $"{at} ('{Name}') needs at least one keyword, phrase or pattern";
        }

        if (terms.Count > 5000 || terms.Any(t => string.IsNullOrWhiteSpace(t) || t.Length > 500))
        {
            return $"{at} ('{Name}'): keywords and phrases must be non-empty, at most 500 characters each, 5000 in all";
        }

        foreach (var pattern in Patterns ?? [])
        {
            if (PatternProblem(pattern) is { } problem)
            {
                return $"{at} ('{Name}') pattern '{pattern}' {problem}";
            }
        }

        return null;
    }

    /// <summary>Lower-cased, with every run of whitespace turned into one space and the ends trimmed.</summary>
    public static string Normalize(string text)
    {
        var builder = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                space = builder.Length > 0;
                continue;
            }

            if (space)
            {
                builder.Append(' ');
                space = false;
            }

            builder.Append(char.ToLowerInvariant(c));
        }

        return builder.ToString();
    }

    private static string? PatternProblem(string pattern)
    {
        if (string.IsNullOrEmpty(pattern) || pattern.Length > MaxPatternLength)
        {
            return $"must be 1-{MaxPatternLength} characters";
        }

        try
        {
            var regex = new Regex(pattern, PatternOptions);
            return regex.IsMatch("") ? "matches empty text, so it would block every request" : null;
        }
        catch (NotSupportedException)
        {
            return "uses a construct the linear-time engine cannot run (look-arounds, backreferences, atomic or conditional groups)";
        }
        catch (ArgumentException ex)
        {
            return $"is not a valid regular expression: {ex.Message}";
        }
    }

    private static bool ContainsWord(string text, string word)
    {
        for (var at = text.IndexOf(word, StringComparison.Ordinal); at >= 0; at = text.IndexOf(word, at + 1, StringComparison.Ordinal))
        {
            var end = at + word.Length;
            if ((at == 0 || !IsWordChar(text[at - 1])) && (end == text.Length || !IsWordChar(text[end])))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';

    private sealed record Matcher(string[] Keywords, string[] Phrases, Regex[] Patterns);
}

internal static class TopicRules
{
    /// <summary>The first rule that one of the caller's texts matches, and where.</summary>
    public static (TopicRule Rule, string Location)? FirstMatch(IReadOnlyList<TopicRule> rules, IEnumerable<CallerText> texts)
    {
        if (rules.Count == 0)
        {
            return null;
        }

        foreach (var (location, text) in texts)
        {
            var normalized = TopicRule.Normalize(text);
            foreach (var rule in rules)
            {
                if (rule.Matches(text, normalized))
                {
                    return (rule, location);
                }
            }
        }

        return null;
    }
}
