namespace Rampart.Guardrails;

/// <summary>A sensitive value found in one text: what it is and where (offsets into that text). Never carries the value.</summary>
internal readonly record struct Finding(string Kind, int Start, int Length)
{
    public int End => Start + Length;

    /// <summary>Whether [start, start + length) overlaps any finding already kept: the first, more specific detector wins a span.</summary>
    public static bool OverlapsAny(List<Finding> findings, int start, int length)
    {
        foreach (var f in findings)
        {
            if (start < f.End && f.Start < start + length)
            {
                return true;
            }
        }

        return false;
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
