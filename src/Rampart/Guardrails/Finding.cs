namespace Rampart.Guardrails;

/// <summary>A sensitive value found in one text: what it is and where (offsets into that text). Never carries the value.</summary>
internal readonly record struct Finding(string Kind, int Start, int Length)
{
    public int End => Start + Length;

    /// <summary>
    /// Drops the PII findings that overlap a secret: a value inside a secret (the host of a connection string, say) is
    /// part of the secret.
    /// </summary>
    public static void RemoveOverlapping(List<Finding> pii, List<Finding> secrets) =>
        pii.RemoveAll(p => secrets.Exists(s => p.Start < s.End && s.Start < p.End));
}

/// <summary>
/// The findings kept while scanning one text, and which of its characters they already cover: the first, more
/// specific detector wins a span, and asking whether a candidate overlaps a kept finding costs the candidate's length,
/// not the number of findings so far (a megabyte of e-mail addresses would otherwise take seconds).
/// </summary>
internal sealed class FindingSet(int textLength)
{
    private readonly List<Finding> _findings = [];
    private ulong[]? _covered;

    public int Count => _findings.Count;

    public bool OverlapsAny(int start, int length)
    {
        if (_covered is null)
        {
            return false;
        }

        for (var i = start; i < start + length; i++)
        {
            if ((_covered[i >> 6] & (1UL << i)) != 0)
            {
                return true;
            }
        }

        return false;
    }

    public void Add(Finding finding)
    {
        _covered ??= new ulong[(textLength + 63) / 64];
        for (var i = finding.Start; i < finding.End; i++)
        {
            _covered[i >> 6] |= 1UL << i;
        }

        _findings.Add(finding);
    }

    /// <summary>The findings in text order.</summary>
    public List<Finding> ToSortedList()
    {
        _findings.Sort((a, b) => a.Start.CompareTo(b.Start));
        return _findings;
    }
}

internal static class Entropy
{
    /// <summary>Shannon entropy in bits per character: ~3 for English words, ~4.5+ for random base62 strings.</summary>
    public static double ShannonBits(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return 0;
        }

        Span<int> counts = stackalloc int[128];
        var other = 0;
        foreach (var c in text)
        {
            if (c < 128)
            {
                counts[c]++;
            }
            else
            {
                other++;
            }
        }

        double bits = 0;
        foreach (var count in counts)
        {
            if (count > 0)
            {
                var p = (double)count / text.Length;
                bits -= p * Math.Log2(p);
            }
        }

        if (other > 0)
        {
            var p = (double)other / text.Length;
            bits -= p * Math.Log2(p);
        }

        return bits;
    }
}
