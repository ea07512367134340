using System.Text.RegularExpressions;

namespace Rampart.Guardrails.Secrets;

/// <summary>
/// One family of secret. <see cref="Keywords"/> are cheap literal pre-filters: the pattern runs only on text that
/// contains one of them (compared with <see cref="KeywordComparison"/>: issuers' prefixes are case-sensitive). <see cref="Pattern"/> is linear-time (NonBacktracking); its group
/// <c>secret</c>, when present, is the value that is checked and reported, else the whole match.
/// </summary>
internal sealed record SecretRule(string Id, string Kind, string[] Keywords, Regex Pattern)
{
    public StringComparison KeywordComparison { get; init; } = StringComparison.Ordinal;

    /// <summary>Minimum Shannon entropy (bits per char) of the secret value; 0 for formats exact enough alone.</summary>
    public double MinEntropy { get; init; }

    /// <summary>
    /// Characters that may not touch the value on either side: a token cut out of a longer token is not that token.
    /// NonBacktracking has no look-arounds, so this is checked after the match, and the patterns carry no <c>\b</c>
    /// (≈ 300 KB of Unicode tables each). Only ASCII counts: a key written against Chinese or Japanese text is found.
    /// </summary>
    public bool WholeToken { get; init; } = true;

    /// <summary>An extra check on the value (a checksum, a decodable header …); null accepts every match.</summary>
    public Func<string, bool>? Validate { get; init; }
}
