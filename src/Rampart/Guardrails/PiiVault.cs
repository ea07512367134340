namespace Rampart.Guardrails;

/// <summary>
/// The originals behind numbered placeholders for one request (<c>[REDACTED_EMAIL_1]</c> → the address), so the
/// answer can carry them back. The same value always gets the same number within the request. It lives only as
/// long as the request and is never logged or stored.
/// </summary>
internal sealed class PiiVault
{
    private readonly Dictionary<(string Type, string Value), string> _placeholders = [];
    private readonly Dictionary<string, string> _originals = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);

    public const string Prefix = "[REDACTED_";

    public int Count => _originals.Count;

    /// <summary>The longest placeholder handed out: nothing longer needs holding back in a stream.</summary>
    public int LongestPlaceholder { get; private set; }

    public string PlaceholderFor(string type, string value)
    {
        if (_placeholders.TryGetValue((type, value), out var existing))
        {
            return existing;
        }

        var number = _counts[type] = _counts.GetValueOrDefault(type) + 1;
        var placeholder = $"{Prefix}{type}_{number}]";
        _placeholders[(type, value)] = placeholder;
        _originals[placeholder] = value;
        LongestPlaceholder = Math.Max(LongestPlaceholder, placeholder.Length);
        return placeholder;
    }

    public bool TryGetOriginal(ReadOnlySpan<char> placeholder, out string original) =>
        _originals.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(placeholder, out original!);

    /// <summary>
    /// The length of the known placeholder <paramref name="text"/> starts with (0 if none), or -1 when the text is
    /// a proper prefix of a known placeholder and so could still become one once more text arrives.
    /// </summary>
    public int MatchAt(ReadOnlySpan<char> text, out string original)
    {
        original = "";
        var close = text.IndexOf(']');
        if (close >= 0)
        {
            return close < LongestPlaceholder && TryGetOriginal(text[..(close + 1)], out original) ? close + 1 : 0;
        }

        if (text.Length >= LongestPlaceholder)
        {
            return 0;
        }

        foreach (var placeholder in _originals.Keys)
        {
            if (placeholder.AsSpan().StartsWith(text, StringComparison.Ordinal))
            {
                return -1;
            }
        }

        return 0;
    }
}
