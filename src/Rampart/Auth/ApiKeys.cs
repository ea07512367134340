using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Rampart.Data;

namespace Rampart.Auth;

/// <summary>
/// Rampart API keys: <c>rmp_</c> + 32 random base62 characters (190 bits) + a 6-character checksum.
/// The checksum lets a secret scanner (ours included) recognise a real Rampart key offline, and lets the
/// gateway reject typos without a lookup. Only the SHA-256 of a key is stored: a key has far more entropy
/// than any password, so a slow KDF would only add latency, not safety.
/// </summary>
internal static class ApiKeys
{
    public const string Prefix = "rmp_";
    private const int SecretLength = 32;
    private const int ChecksumLength = 6;
    public const int Length = 4 + SecretLength + ChecksumLength;

    public static NewApiKey Generate()
    {
        var body = Prefix + Ids.RandomBase62(SecretLength);
        var key = body + Checksum(body);
        return new NewApiKey(key, DisplayPrefix(key), Hash(key));
    }

    /// <summary>Shape and checksum only; says nothing about whether the key exists.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> key)
    {
        if (key.Length != Length || !key.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in key[Prefix.Length..])
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }

        var body = key[..^ChecksumLength];
        return key[^ChecksumLength..].SequenceEqual(Checksum(body));
    }

    /// <summary>Lower-case hex SHA-256 of the key's UTF-8 bytes: what the database stores.</summary>
    public static string Hash(ReadOnlySpan<char> key)
    {
        Span<byte> utf8 = stackalloc byte[Encoding.UTF8.GetMaxByteCount(Math.Min(key.Length, 512))];
        var length = Encoding.UTF8.GetBytes(key.Length > 512 ? key[..512] : key, utf8);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..length], hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>Constant-time equality of two hex hashes (compared as they are in memory: no copies per request).</summary>
    public static bool HashesEqual(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(a.AsSpan()), MemoryMarshal.AsBytes(b.AsSpan()));

    /// <summary>What the dashboard and CLI show to tell keys apart: enough to recognise, far too little to use.</summary>
    public static string DisplayPrefix(string key) => key[..Math.Min(12, key.Length)];

    private static string Checksum(ReadOnlySpan<char> body)
    {
        Span<byte> utf8 = stackalloc byte[body.Length];
        Encoding.ASCII.GetBytes(body, utf8);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8, hash);
        var value = BitConverter.ToUInt32(hash[..4]);
        Span<char> digits = stackalloc char[ChecksumLength];
        for (var i = ChecksumLength - 1; i >= 0; i--)
        {
            digits[i] = Ids.Base62Alphabet[(int)(value % 62)];
            value /= 62;
        }

        return new string(digits);
    }
}

/// <summary>A freshly generated key: <see cref="Key"/> is shown once and never stored.</summary>
internal sealed record NewApiKey(string Key, string Prefix, string Hash);
