using System.Security.Cryptography;

namespace Rampart.Guardrails.Pii;

/// <summary>The check-digit algorithms that turn "a run of digits" into "a card number", "an IBAN" or "a wallet address".</summary>
internal static class Checksums
{
    /// <summary>Luhn (mod 10) over the digits of <paramref name="digits"/>.</summary>
    public static bool Luhn(ReadOnlySpan<char> digits)
    {
        var sum = 0;
        var doubleIt = false;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var d = digits[i] - '0';
            if (doubleIt)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            doubleIt = !doubleIt;
        }

        return sum % 10 == 0;
    }

    /// <summary>ISO 13616 IBAN check: move the first four characters to the end, letters to numbers, mod 97 == 1.</summary>
    public static bool IbanMod97(ReadOnlySpan<char> iban)
    {
        var remainder = 0;
        for (var i = 0; i < iban.Length; i++)
        {
            var c = iban[(i + 4) % iban.Length];
            if (char.IsAsciiDigit(c))
            {
                remainder = (remainder * 10 + (c - '0')) % 97;
            }
            else if (char.IsAsciiLetterUpper(c))
            {
                remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
            }
            else
            {
                return false;
            }
        }

        return remainder == 1;
    }

    /// <summary>ABA routing number: weights 3-7-1 over the nine digits, sum divisible by 10.</summary>
    public static bool AbaRouting(ReadOnlySpan<char> digits)
    {
        if (digits.Length != 9)
        {
            return false;
        }

        ReadOnlySpan<int> weights = [3, 7, 1, 3, 7, 1, 3, 7, 1];
        var sum = 0;
        for (var i = 0; i < 9; i++)
        {
            sum += (digits[i] - '0') * weights[i];
        }

        return sum % 10 == 0;
    }

    /// <summary>NHS number: weights 10..2 over the first nine digits; 11 - (sum mod 11) is the tenth (11 reads 0, 10 is never issued).</summary>
    public static bool NhsMod11(ReadOnlySpan<char> digits)
    {
        if (digits.Length != 10)
        {
            return false;
        }

        var sum = 0;
        for (var i = 0; i < 9; i++)
        {
            sum += (digits[i] - '0') * (10 - i);
        }

        var check = 11 - sum % 11;
        if (check == 11)
        {
            check = 0;
        }

        return check != 10 && check == digits[9] - '0';
    }

    private const string Base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

    /// <summary>
    /// Base58Check as Bitcoin uses it: decodes to exactly <paramref name="payload"/> bytes, whose last four are the first
    /// four of SHA-256(SHA-256(the rest)). Returns the version byte, or -1.
    /// </summary>
    public static int Base58CheckVersion(ReadOnlySpan<char> text, int payload = 25)
    {
        Span<byte> bytes = stackalloc byte[payload];
        bytes.Clear();
        foreach (var c in text)
        {
            var carry = Base58Alphabet.IndexOf(c, StringComparison.Ordinal);
            if (carry < 0)
            {
                return -1;
            }

            for (var i = payload - 1; i >= 0; i--)
            {
                carry += 58 * bytes[i];
                bytes[i] = (byte)carry;
                carry >>= 8;
            }

            if (carry != 0)
            {
                return -1; // more bytes than the payload holds
            }
        }

        // Each leading '1' stands for a leading zero byte; the number itself must not have more of them.
        var ones = 0;
        while (ones < text.Length && text[ones] == '1')
        {
            ones++;
        }

        var zeros = 0;
        while (zeros < payload && bytes[zeros] == 0)
        {
            zeros++;
        }

        if (zeros != ones)
        {
            return -1;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(bytes[..(payload - 4)], hash);
        SHA256.HashData(hash, hash);
        return hash[..4].SequenceEqual(bytes[(payload - 4)..]) ? bytes[0] : -1;
    }

    private const string Bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

    /// <summary>
    /// A SegWit address of <paramref name="hrp"/> (BIP-173 / BIP-350): one case, a valid bech32 checksum for witness
    /// version 0 or bech32m for later versions, and a witness program of a length the version allows.
    /// </summary>
    public static bool SegwitAddress(ReadOnlySpan<char> address, string hrp)
    {
        var lower = !address.ContainsAnyInRange('A', 'Z');
        var upper = !address.ContainsAnyInRange('a', 'z');
        if (!(lower || upper) || address.Length > 90 || address.Length < hrp.Length + 8
            || !address[..hrp.Length].Equals(hrp, StringComparison.OrdinalIgnoreCase) || address[hrp.Length] != '1')
        {
            return false;
        }

        var data = address[(hrp.Length + 1)..];
        Span<byte> values = stackalloc byte[data.Length];
        for (var i = 0; i < data.Length; i++)
        {
            var v = Bech32Charset.IndexOf(char.ToLowerInvariant(data[i]), StringComparison.Ordinal);
            if (v < 0)
            {
                return false;
            }

            values[i] = (byte)v;
        }

        uint check = 1;
        foreach (var c in hrp)
        {
            check = Bech32Step(check, c >> 5);
        }

        check = Bech32Step(check, 0);
        foreach (var c in hrp)
        {
            check = Bech32Step(check, c & 31);
        }

        foreach (var v in values)
        {
            check = Bech32Step(check, v);
        }

        var version = values[0];
        if (version > 16 || check != (version == 0 ? 1u : 0x2bc830a3u))
        {
            return false;
        }

        // The program: 5-bit groups regrouped into bytes, with no more than four bits of zero padding left over.
        var bits = 0;
        var accumulator = 0;
        var programLength = 0;
        foreach (var v in values[1..^6])
        {
            accumulator = (accumulator << 5) | v;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                programLength++;
            }
        }

        if (bits >= 5 || (accumulator & ((1 << bits) - 1)) != 0)
        {
            return false;
        }

        return version == 0 ? programLength is 20 or 32 : programLength is >= 2 and <= 40;
    }

    private static uint Bech32Step(uint check, int value)
    {
        ReadOnlySpan<uint> generator = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
        var top = check >> 25;
        check = ((check & 0x1ffffff) << 5) ^ (uint)value;
        for (var i = 0; i < 5; i++)
        {
            if (((top >> i) & 1) != 0)
            {
                check ^= generator[i];
            }
        }

        return check;
    }

    /// <summary>EIP-55: a hex letter is upper case exactly when the matching nibble of Keccak-256(lower-case address) is 8 or more.</summary>
    public static bool Eip55(ReadOnlySpan<char> hex40)
    {
        Span<byte> ascii = stackalloc byte[40];
        for (var i = 0; i < 40; i++)
        {
            ascii[i] = (byte)char.ToLowerInvariant(hex40[i]);
        }

        Span<byte> hash = stackalloc byte[32];
        Keccak256.Hash(ascii, hash);
        for (var i = 0; i < 40; i++)
        {
            var c = hex40[i];
            if (char.IsAsciiDigit(c))
            {
                continue;
            }

            var nibble = (i % 2 == 0 ? hash[i / 2] >> 4 : hash[i / 2]) & 0xf;
            if (char.IsAsciiLetterUpper(c) != nibble >= 8)
            {
                return false;
            }
        }

        return true;
    }
}
