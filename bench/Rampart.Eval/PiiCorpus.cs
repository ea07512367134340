using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Rampart.Guardrails.Pii;

namespace Rampart.Eval;

/// <summary>A text and the sensitive values in it (type and span). Negatives have no labels.</summary>
internal sealed record Sample(string Text, IReadOnlyList<Label> Labels);

internal readonly record struct Label(string Type, int Start, int Length);

/// <summary>
/// Labelled PII corpus, generated from a seed: every value is computed (valid check digits where the type has them)
/// and worthless, embedded in sentences a user might type; hard negatives are the near-misses that trip naive detectors.
/// </summary>
internal sealed class PiiCorpus(int seed)
{
    private readonly Random _random = new(seed);

    private const string Digits = "0123456789";
    private const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private const string HexLower = "0123456789abcdef";

    public static readonly string[] Types =
    [
        PiiTypes.Email, PiiTypes.Phone, PiiTypes.CreditCard, PiiTypes.IpAddress, PiiTypes.Ssn, PiiTypes.Iban, PiiTypes.CryptoWallet,
        PiiTypes.UsBankRouting, PiiTypes.UkNhs, PiiTypes.MacAddress, PiiTypes.UsItin, PiiTypes.UsPassport, PiiTypes.UkNino, PiiTypes.DateOfBirth,
    ];

    /// <summary>Types held to precision ≥ 0.99 and recall ≥ 0.98: the seed types and the checksum-validated ones.</summary>
    public static readonly HashSet<string> Targeted =
    [
        PiiTypes.Email, PiiTypes.Phone, PiiTypes.CreditCard, PiiTypes.IpAddress, PiiTypes.Ssn, PiiTypes.Iban, PiiTypes.CryptoWallet,
        PiiTypes.UsBankRouting, PiiTypes.UkNhs,
    ];

    public List<Sample> Positives(int perType)
    {
        var samples = new List<Sample>();
        foreach (var type in Types)
        {
            for (var i = 0; i < perType; i++)
            {
                var (template, value) = Positive(type);
                samples.Add(Embed(template, value, type));
            }
        }

        return samples;
    }

    public List<Sample> Negatives(int perKind)
    {
        var samples = new List<Sample>();
        foreach (var make in NegativeMakers())
        {
            for (var i = 0; i < perKind; i++)
            {
                samples.Add(new Sample(make(), []));
            }
        }

        return samples;
    }

    private static Sample Embed(string template, string value, string type)
    {
        var at = template.IndexOf("{}", StringComparison.Ordinal);
        var text = string.Concat(template.AsSpan(0, at), value, template.AsSpan(at + 2));
        return new Sample(text, [new Label(type, at, value.Length)]);
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    private string R(string alphabet, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = alphabet[_random.Next(alphabet.Length)];
        }

        return new string(chars);
    }

    private int N(int min, int maxInclusive) => _random.Next(min, maxInclusive + 1);

    private (string Template, string Value) Positive(string type) => type switch
    {
        PiiTypes.Email => (Pick(EmailTemplates), Email()),
        PiiTypes.Phone => Phone(),
        PiiTypes.CreditCard => (Pick(CardTemplates), Card()),
        PiiTypes.IpAddress => (Pick(IpTemplates), _random.Next(3) == 0 ? Ipv4() : Ipv6()),
        PiiTypes.Ssn => Ssn(),
        PiiTypes.Iban => (Pick(IbanTemplates), Iban(valid: true)),
        PiiTypes.CryptoWallet => Wallet(),
        PiiTypes.UsBankRouting => (Pick(RoutingTemplates), Routing(valid: true)),
        PiiTypes.UkNhs => Nhs(),
        PiiTypes.MacAddress => (Pick(MacTemplates), Mac()),
        PiiTypes.UsItin => Itin(),
        PiiTypes.UsPassport => (Pick(PassportTemplates), _random.Next(2) == 0 ? R(Upper, 1) + N(1, 9) + R(Digits, 7) : N(1, 9) + R(Digits, 8)),
        PiiTypes.UkNino => (Pick(NinoTemplates), Nino(valid: true)),
        PiiTypes.DateOfBirth => (Pick(DobTemplates), Date(N(1930, 2010))),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    // ---- e-mail ----

    private static readonly string[] EmailTemplates =
        ["Contact me at {} if anything changes.", "Email: {}", "Please cc {}, thanks.", "From: Jane <{}>", "send the invoice to {} by Friday", "({}) wrote:"];

    private static readonly string[] FirstNames = ["jane", "john", "maria", "li", "ahmed", "sofia", "lukas", "chloe", "marco", "ana", "sven", "fatima"];
    private static readonly string[] Domains = ["example.com", "corp.example.co.uk", "mail.example.org", "uni-example.edu", "example.de", "sub.example.fr", "example.io", "shop.example.it"];

    private string Email()
    {
        var first = Pick(FirstNames);
        var last = R("abcdefghijklmnopqrstuvwxyz", N(3, 9));
        var local = _random.Next(5) switch
        {
            0 => $"{first}.{last}",
            1 => $"{first}_{last}{N(1, 99)}",
            2 => $"{first[0]}{last}+{Pick(new[] { "billing", "news", "work" })}",
            3 => $"{first.ToUpperInvariant()}.{last}",
            _ => $"{first}{N(1970, 2005)}",
        };
        return $"{local}@{Pick(Domains)}";
    }

    // ---- phone ----

    private static readonly string[] PhoneContextTemplates = ["Call me on {} tomorrow.", "Tel: {}", "my mobile is {}", "phone {} (office)", "WhatsApp {} after 6pm", "Fax: {}."];
    private static readonly string[] PhonePlainTemplates = ["You can reach me at {} anytime.", "Our office: {}", "Reception {} — ask for Tom.", "{} is the hotline"];

    private (string, string) Phone()
    {
        var value = _random.Next(7) switch
        {
            0 => UsPhone(),
            1 => UkPhone(),
            2 => DePhone(),
            3 => FrPhone(),
            4 => ItPhone(),
            5 => EsPhone(),
            _ => NlPhone(),
        };

        // A third of the time with no phone word at all.
        return (_random.Next(3) == 0 ? Pick(PhonePlainTemplates) : Pick(PhoneContextTemplates), value);
    }

    private string UsPhone()
    {
        var area = $"{N(2, 9)}{N(0, 8)}{N(0, 9)}";
        var exchange = $"{N(2, 9)}{R(Digits, 2)}";
        var line = R(Digits, 4);
        return _random.Next(7) switch
        {
            6 => $"{area} {exchange} {line}",
            0 => $"({area}) {exchange}-{line}",
            1 => $"{area}-{exchange}-{line}",
            2 => $"{area}.{exchange}.{line}",
            3 => $"+1 {area} {exchange} {line}",
            4 => $"+1-{area}-{exchange}-{line}",
            _ => $"+1 ({area}) {exchange}-{line}",
        };
    }

    private string UkPhone() => _random.Next(4) switch
    {
        0 => $"+44 20 {N(3, 8)}{R(Digits, 3)} {R(Digits, 4)}",
        1 => $"020 {N(3, 8)}{R(Digits, 3)} {R(Digits, 4)}",
        2 => $"07{N(4, 9)}{R(Digits, 2)} {R(Digits, 6)}",
        _ => $"+44 7{N(4, 9)}{R(Digits, 2)} {R(Digits, 6)}",
    };

    private string DePhone() => _random.Next(4) switch
    {
        0 => $"+49 30 {N(1, 9)}{R(Digits, 7)}",
        1 => $"030 {N(1, 9)}{R(Digits, 7)}",
        2 => $"+49 15{N(1, 9)} {R(Digits, 8)}",
        _ => $"0{Pick(new[] { "89", "40", "221", "69" })} {N(1, 9)}{R(Digits, 6)}",
    };

    private string FrPhone() => _random.Next(3) switch
    {
        0 => $"+33 {N(1, 7)} {R(Digits, 2)} {R(Digits, 2)} {R(Digits, 2)} {R(Digits, 2)}",
        1 => $"0{N(1, 7)} {R(Digits, 2)} {R(Digits, 2)} {R(Digits, 2)} {R(Digits, 2)}",
        _ => $"0{N(1, 7)}.{R(Digits, 2)}.{R(Digits, 2)}.{R(Digits, 2)}.{R(Digits, 2)}",
    };

    private string ItPhone() => _random.Next(3) switch
    {
        0 => $"+39 06 {R(Digits, 4)} {R(Digits, 4)}",
        1 => $"+39 3{N(1, 9)}{N(0, 9)} {R(Digits, 3)} {R(Digits, 4)}",
        _ => $"02 {R(Digits, 4)} {R(Digits, 4)}",
    };

    private string EsPhone() => _random.Next(2) switch
    {
        0 => $"+34 91{N(0, 9)} {R(Digits, 3)} {R(Digits, 3)}",
        _ => $"+34 6{R(Digits, 2)} {R(Digits, 2)} {R(Digits, 2)} {R(Digits, 2)}",
    };

    private string NlPhone() => _random.Next(4) switch
    {
        0 => $"+31 20 {N(1, 9)}{R(Digits, 2)} {R(Digits, 4)}",
        1 => $"020 {N(1, 9)}{R(Digits, 2)} {R(Digits, 4)}",
        2 => $"06 {N(1, 9)}{R(Digits, 7)}",
        _ => $"+31 6 {N(1, 9)}{R(Digits, 7)}",
    };

    // ---- cards ----

    private static readonly string[] CardTemplates =
        ["Card: {}, exp 12/29", "charge {} for the renewal", "my card number is {}", "Visa/MC {} — please keep on file", "payment with {}."];

    private string Card()
    {
        var (prefix, length) = _random.Next(9) switch
        {
            0 => ("4", 16),
            1 => ("4", 13),
            2 => (N(51, 55).ToString(CultureInfo.InvariantCulture), 16),
            3 => (N(2221, 2720).ToString(CultureInfo.InvariantCulture), 16),
            4 => (Pick(new[] { "34", "37" }), 15),
            5 => (Pick(new[] { "6011", "65", N(644, 649).ToString(CultureInfo.InvariantCulture) }), 16),
            6 => (Pick(new[] { "36", "38", N(300, 305).ToString(CultureInfo.InvariantCulture) }), 14),
            7 => (N(3528, 3589).ToString(CultureInfo.InvariantCulture), 16),
            _ => ("62", Pick(new[] { 16, 17, 18, 19 })),
        };
        var digits = LuhnComplete(prefix + R(Digits, length - prefix.Length - 1));
        return _random.Next(3) switch
        {
            0 => digits,
            1 => GroupCard(digits, ' '),
            _ => GroupCard(digits, '-'),
        };
    }

    private static string GroupCard(string digits, char separator)
    {
        int[] groups = digits.Length switch
        {
            15 => [4, 6, 5],
            14 => [4, 6, 4],
            _ => [4, 4, 4, 4, 4],
        };
        var parts = new List<string>();
        var at = 0;
        foreach (var g in groups)
        {
            if (at >= digits.Length)
            {
                break;
            }

            var take = Math.Min(g, digits.Length - at);
            parts.Add(digits.Substring(at, take));
            at += take;
        }

        return string.Join(separator, parts);
    }

    public static string LuhnComplete(string body)
    {
        for (var d = 0; d <= 9; d++)
        {
            var candidate = body + (char)('0' + d);
            if (Checksums.Luhn(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("unreachable");
    }

    // ---- IP ----

    private static readonly string[] IpTemplates = ["server at {} is down", "ssh admin@{}", "allowlist {} in the firewall", "the request came from {}.", "ping {} please"];

    private string Ipv4() => _random.Next(3) switch
    {
        0 => $"10.{N(0, 255)}.{N(0, 255)}.{N(1, 254)}",
        1 => $"192.168.{N(0, 255)}.{N(1, 254)}",
        _ => $"{N(11, 223)}.{N(0, 255)}.{N(0, 255)}.{N(1, 254)}",
    };

    private string Ipv6()
    {
        var bytes = new byte[16];
        _random.NextBytes(bytes);
        if (_random.Next(2) == 0)
        {
            Array.Clear(bytes, 4, N(4, 8)); // a run of zero groups to compress
        }

        bytes[0] = (byte)(_random.Next(2) == 0 ? 0x20 : 0xfe);
        bytes[1] = (byte)(bytes[0] == 0xfe ? 0x80 : 0x01);
        var address = new IPAddress(bytes);
        if (_random.Next(3) == 0)
        {
            // Full form, every group written out.
            return string.Join(':', Enumerable.Range(0, 8).Select(i => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).ToString("x4", CultureInfo.InvariantCulture)));
        }

        var text = address.ToString();
        return _random.Next(4) == 0 ? text.ToUpperInvariant() : text;
    }

    // ---- SSN / ITIN ----

    private (string, string) Ssn()
    {
        int area;
        do
        {
            area = N(1, 899);
        }
        while (area == 666);

        var digits = $"{area:D3}{N(1, 99):D2}{N(1, 9999):D4}";
        return _random.Next(3) switch
        {
            0 => (Pick(new[] { "SSN {} on file", "social security number: {}", "my SSN is {}" }), $"{digits[..3]}-{digits[3..5]}-{digits[5..]}"),
            1 => ("SSN: {}", $"{digits[..3]} {digits[3..5]} {digits[5..]}"),
            _ => (Pick(new[] { "ssn={}", "Social Security: {}", "SSN {}." }), digits),
        };
    }

    private (string, string) Itin()
    {
        var group = Pick(new[] { N(70, 88), N(90, 92), N(94, 99) });
        var digits = $"9{R(Digits, 2)}{group:D2}{R("123456789", 1)}{R(Digits, 3)}";
        return _random.Next(2) == 0
            ? (Pick(new[] { "ITIN {} on the return", "taxpayer id {}", "use {} on the W-7" }), $"{digits[..3]}-{digits[3..5]}-{digits[5..]}")
            : (Pick(new[] { "my ITIN is {}", "ITIN: {}" }), digits);
    }

    // ---- IBAN ----

    private static readonly string[] IbanTemplates = ["Pay to {} by Friday", "IBAN: {}", "bank details {} (Sparkasse)", "please transfer to {}.", "Kontonummer {}"];

    /// <summary>Country, BBAN layout: 'n' digit, 'a' upper-case letter, 'c' either.</summary>
    private static readonly (string Country, string Layout)[] IbanLayouts =
    [
        ("DE", "nnnnnnnnnnnnnnnnnn"), ("GB", "aaaannnnnnnnnnnnnn"), ("FR", "nnnnnnnnnncccccccccccnn"), ("ES", "nnnnnnnnnnnnnnnnnnnn"),
        ("IT", "annnnnnnnnncccccccccccc"), ("NL", "aaaannnnnnnnnn"), ("BE", "nnnnnnnnnnnn"), ("AT", "nnnnnnnnnnnnnnnn"),
        ("CH", "nnnnncccccccccccc"), ("PL", "nnnnnnnnnnnnnnnnnnnnnnnn"), ("PT", "nnnnnnnnnnnnnnnnnnnnn"), ("IE", "aaaannnnnnnnnnnnnn"),
        ("SE", "nnnnnnnnnnnnnnnnnnnn"), ("DK", "nnnnnnnnnnnnnn"), ("NO", "nnnnnnnnnnn"), ("FI", "nnnnnnnnnnnnnn"), ("LU", "nnnccccccccccccc"),
        ("CZ", "nnnnnnnnnnnnnnnnnnnn"), ("GR", "nnnnnnncccccccccccccccc"), ("RO", "aaaacccccccccccccccc"), ("HU", "nnnnnnnnnnnnnnnnnnnnnnnn"),
        ("SA", "nncccccccccccccccccc"), ("AE", "nnnnnnnnnnnnnnnnnnn"), ("TR", "nnnnnncccccccccccccccc"), ("MT", "aaaannnnncccccccccccccccccc"),
    ];

    private string Iban(bool valid)
    {
        var (country, layout) = Pick(IbanLayouts);
        var bban = new string(layout.Select(c => c switch
        {
            'n' => Digits[_random.Next(10)],
            'a' => Upper[_random.Next(26)],
            _ => (Digits + Upper)[_random.Next(36)],
        }).ToArray());
        var check = 98 - Mod97(bban + country + "00");
        if (!valid)
        {
            check = (check + N(1, 96)) % 97;
            check = check < 2 ? check + 2 : check;
        }

        var iban = $"{country}{check:D2}{bban}";
        return _random.Next(2) == 0 ? iban : string.Join(' ', iban.Chunk(4).Select(c => new string(c)));
    }

    private static int Mod97(string text)
    {
        var remainder = 0;
        foreach (var c in text)
        {
            remainder = char.IsAsciiDigit(c) ? (remainder * 10 + (c - '0')) % 97 : (remainder * 100 + (c - 'A' + 10)) % 97;
        }

        return remainder;
    }

    // ---- wallets ----

    private (string, string) Wallet()
    {
        switch (_random.Next(6))
        {
            case 0:
                return (Pick(new[] { "send BTC to {} please", "my bitcoin address: {}", "donations: {}" }), Base58Address(_random.Next(2) == 0 ? (byte)0x00 : (byte)0x05, valid: true));
            case 1:
                return (Pick(new[] { "send BTC to {} please", "payout address {}" }), Segwit(version: 0, programLength: _random.Next(2) == 0 ? 20 : 32, valid: true));
            case 2:
                return (Pick(new[] { "taproot address {}", "withdraw to {}" }), Segwit(version: 1, programLength: 32, valid: true));
            case 3:
                var upper = Segwit(version: 0, programLength: 20, valid: true).ToUpperInvariant();
                return ("QR payload {}", upper);
            case 4:
                return (Pick(new[] { "pay {} in USDC", "my address is {}", "send it to {}." }), EthereumChecksummed());
            default:
                return (Pick(new[] { "my ETH wallet: {}", "wallet address {}", "metamask {}" }), "0x" + R(HexLower, 40));
        }
    }

    private const string Base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

    private string Base58Address(byte version, bool valid)
    {
        var payload = new byte[25];
        payload[0] = version;
        _random.NextBytes(payload.AsSpan(1, 20));
        var hash = SHA256.HashData(SHA256.HashData(payload.AsSpan(0, 21)));
        hash.AsSpan(0, 4).CopyTo(payload.AsSpan(21));
        if (!valid)
        {
            payload[24] ^= (byte)N(1, 255);
        }

        var number = new System.Numerics.BigInteger(payload, isUnsigned: true, isBigEndian: true);
        var builder = new StringBuilder();
        while (number > 0)
        {
            builder.Insert(0, Base58Alphabet[(int)(number % 58)]);
            number /= 58;
        }

        foreach (var b in payload)
        {
            if (b != 0)
            {
                break;
            }

            builder.Insert(0, '1');
        }

        return builder.ToString();
    }

    private const string Bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

    private string Segwit(int version, int programLength, bool valid)
    {
        var program = new byte[programLength];
        _random.NextBytes(program);
        var data = new List<int> { version };
        int accumulator = 0, bits = 0;
        foreach (var b in program)
        {
            accumulator = (accumulator << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                data.Add((accumulator >> bits) & 31);
            }
        }

        if (bits > 0)
        {
            data.Add((accumulator << (5 - bits)) & 31);
        }

        var constant = version == 0 ? 1u : 0x2bc830a3u;
        var values = new List<int> { 3, 3, 0, 2, 3 }; // "bc" expanded: high bits, 0, low bits
        values.AddRange(data);
        values.AddRange([0, 0, 0, 0, 0, 0]);
        var polymod = Polymod(values) ^ constant;
        if (!valid)
        {
            polymod ^= 1u << N(0, 29);
        }

        for (var i = 0; i < 6; i++)
        {
            data.Add((int)((polymod >> (5 * (5 - i))) & 31));
        }

        return "bc1" + new string(data.Select(v => Bech32Charset[v]).ToArray());
    }

    private static uint Polymod(IEnumerable<int> values)
    {
        uint[] generator = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
        uint check = 1;
        foreach (var v in values)
        {
            var top = check >> 25;
            check = ((check & 0x1ffffff) << 5) ^ (uint)v;
            for (var i = 0; i < 5; i++)
            {
                if (((top >> i) & 1) != 0)
                {
                    check ^= generator[i];
                }
            }
        }

        return check;
    }

    private string EthereumChecksummed()
    {
        var lower = R(HexLower, 40);
        var hash = new byte[32];
        Keccak256.Hash(Encoding.ASCII.GetBytes(lower), hash);
        var chars = lower.ToCharArray();
        for (var i = 0; i < 40; i++)
        {
            var nibble = (i % 2 == 0 ? hash[i / 2] >> 4 : hash[i / 2]) & 0xf;
            if (char.IsAsciiLetter(chars[i]) && nibble >= 8)
            {
                chars[i] = char.ToUpperInvariant(chars[i]);
            }
        }

        return "0x" + new string(chars);
    }

    // ---- routing, NHS, MAC, passport, NINO, DOB ----

    private static readonly string[] RoutingTemplates = ["routing number {}, account 000123", "ABA {}", "RTN: {}", "wire it: routing {} / acct ending 42", "ABA routing transit number {}"];

    private string Routing(bool valid)
    {
        var prefix = Pick(new[] { N(1, 12), N(21, 32), N(61, 72), 80 });
        var body = $"{prefix:D2}{R(Digits, 6)}";
        int[] weights = [3, 7, 1, 3, 7, 1, 3, 7];
        var sum = body.Select((c, i) => (c - '0') * weights[i]).Sum();
        var check = (10 - sum % 10) % 10;
        if (!valid)
        {
            check = (check + N(1, 9)) % 10;
        }

        return body + check;
    }

    private (string, string) Nhs()
    {
        string digits;
        do
        {
            var body = N(4, 7) + R(Digits, 8);
            var sum = body.Select((c, i) => (c - '0') * (10 - i)).Sum();
            var check = (11 - sum % 11) % 11;
            digits = check == 10 ? "" : body + check;
        }
        while (digits.Length == 0);

        return _random.Next(3) switch
        {
            0 => (Pick(new[] { "NHS number {}", "patient {} admitted to ward 3", "NHS no. {}." }), $"{digits[..3]} {digits[3..6]} {digits[6..]}"),
            1 => (Pick(new[] { "NHS number: {}", "NHS {}" }), digits),
            _ => (Pick(new[] { "ref {} for the GP", "see record {}" }), $"{digits[..3]} {digits[3..6]} {digits[6..]}"),
        };
    }

    private static readonly string[] MacTemplates = ["NIC {} is flapping", "hwaddr {}", "allow MAC {} on the guest wifi", "switch port learned {}."];

    private string Mac()
    {
        var bytes = new byte[6];
        _random.NextBytes(bytes);
        bytes[0] |= 0xa0; // keep a hex letter in every address (all-digit hyphenated groups are left alone by design)
        var hex = Convert.ToHexStringLower(bytes);
        var pairs = hex.Chunk(2).Select(c => new string(c)).ToArray();
        return _random.Next(4) switch
        {
            0 => string.Join(':', pairs),
            1 => string.Join(':', pairs).ToUpperInvariant(),
            2 => string.Join('-', pairs).ToUpperInvariant(),
            _ => $"{hex[..4]}.{hex[4..8]}.{hex[8..]}",
        };
    }

    private static readonly string[] PassportTemplates = ["passport number {}", "Passport: {} (expires 2031)", "my US passport no is {}", "passport #{}"];

    private static readonly string[] NinoTemplates = ["NI number {}", "National Insurance: {}", "NINO {} for payroll", "my NI no. is {}."];

    private string Nino(bool valid)
    {
        const string firsts = "ABCEGHJKLMNOPRSTWXYZ";
        const string seconds = "ABCEGHJKLMNPRSTWXYZ";
        string prefix;
        do
        {
            prefix = $"{firsts[_random.Next(firsts.Length)]}{seconds[_random.Next(seconds.Length)]}";
        }
        while (prefix is "BG" or "GB" or "KN" or "NK" or "NT" or "TN" or "ZZ");

        var suffix = valid ? R("ABCD", 1) : R("EFGHJKLMNPQRSTUVWXYZ", 1);
        var digits = R(Digits, 6);
        return _random.Next(3) switch
        {
            0 => $"{prefix} {digits[..2]} {digits[2..4]} {digits[4..]} {suffix}",
            1 => $"{prefix}{digits}{suffix}",
            _ => $"{prefix} {digits} {suffix}",
        };
    }

    private static readonly string[] DobTemplates =
        ["born on {} in Leeds", "DOB: {}", "date of birth {}", "my birthday is {}", "D.O.B. {}", "Date of Birth: {}.", "born {}", "geboren am {}"];

    private static readonly string[] MonthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    private string Date(int year)
    {
        var month = N(1, 12);
        var day = N(1, DateTime.DaysInMonth(year, month));
        var name = MonthNames[month - 1];
        return _random.Next(8) switch
        {
            0 => $"{year}-{month:D2}-{day:D2}",
            1 => $"{day:D2}/{month:D2}/{year}",
            2 => $"{month:D2}/{day:D2}/{year}",
            3 => $"{day}.{month}.{year}",
            4 => $"{day} {name} {year}",
            5 => $"{name} {day}, {year}",
            6 => $"{day}{(day % 10 == 1 && day != 11 ? "st" : day % 10 == 2 && day != 12 ? "nd" : day % 10 == 3 && day != 13 ? "rd" : "th")} of {name} {year}",
            _ => $"{name[..3]} {day}, {year}",
        };
    }

    // ---- hard negatives ----

    private IEnumerable<Func<string>> NegativeMakers()
    {
        // Numbers that are not PII.
        yield return () => $"Order #{N(2, 9)}{R(Digits, 9)} shipped";
        yield return () => $"order number {N(2, 9)}{R(Digits, 9)} is on its way";
        yield return () => $"Invoice INV-{N(2019, 2026)}-{R(Digits, 6)} is due";
        yield return () => $"PO {N(45, 49)}{R(Digits, 8)} approved";
        yield return () => $"tracking 1Z{R(Upper + Digits, 16)}";
        yield return () => $"version {N(1, 20)}.{N(0, 30)}.{N(0, 999)}.{N(0, 9999)} of the runtime";
        yield return () => $"upgrade to v{N(1, 9)}.{N(0, 20)}.{N(0, 50)}.{N(0, 99)}";
        yield return () => $"build {N(1, 9)}.{N(0, 9)}.{N(0, 99)}-beta.{N(1, 9)} and {N(1, 3)}.{N(0, 9)}.{N(0, 9)}.{N(0, 9)}.{N(0, 9)}";
        yield return () => $"timestamp {N(1_600_000_000, 1_799_999_999)}{R(Digits, 3)} logged";
        yield return () => $"epoch {N(1_000_000_000, 1_999_999_999)}";
        yield return () => $"at {N(2019, 2026)}-{N(1, 12):D2}-{N(1, 28):D2}T{N(0, 23):D2}:{N(0, 59):D2}:{N(0, 59):D2}Z the job ran";
        yield return () => $"meeting on {N(2019, 2026)}-{N(1, 12):D2}-{N(1, 28):D2} at {N(8, 17)}:{N(0, 59):D2}";
        yield return () => $"invoice dated {N(1, 28):D2}/{N(1, 12):D2}/{N(2015, 2025)}, paid {N(1, 28)} {MonthNames[N(0, 11)]} {N(2015, 2025)}";
        yield return () => $"released on {MonthNames[N(0, 11)]} {N(1, 28)}, {N(1990, 2025)}";
        yield return () => $"request {R(HexLower, 8)}-{R(HexLower, 4)}-4{R(HexLower, 3)}-8{R(HexLower, 3)}-{R(HexLower, 12)} failed";
        yield return () => $"git sha {R(HexLower, 40)} fixed it";
        yield return () => $"commit {R(HexLower, 7)} and {R(HexLower, 12)}";
        yield return () => $"sha256 {R(HexLower, 64)}";
        yield return () => $"tx hash 0x{R(HexLower, 64)}";
        yield return () => $"storage slot 0x{R(HexLower, 40)} in the trie dump";
        yield return () => Isbn13();
        yield return () => Isbn10();
        yield return () => $"ratio {N(1, 9)}.{R(Digits, 8)} and {N(100, 999)},{R(Digits, 3)},{R(Digits, 3)}.{R(Digits, 2)}";
        yield return () => $"lat {N(10, 60)}.{R(Digits, 4)}, long -{N(10, 150)}.{R(Digits, 4)}";
        yield return () => $"zip {N(10000, 99999)}-{R(Digits, 4)} and room {N(1, 9)}.{N(1, 9)}.{N(10, 99)}";
        yield return () => $"p99 latency {N(100, 999)} ms over {N(1000, 9999)} requests at {N(10, 23)}:{N(10, 59)}:{N(10, 59)}";
        yield return () => $"std::vector<int> and Base::Add and a::b and {R("ghijkz", 3)}::{R("ghijkz", 3)}";

        // Luhn-failing card-shaped numbers, card-like with mixed separators.
        yield return () => LuhnFail(16, "4");
        yield return () => LuhnFail(16, N(51, 55).ToString(CultureInfo.InvariantCulture));
        yield return () => LuhnFail(15, "37");
        yield return () => $"Tracking {GroupCard(LuhnComplete("1" + R(Digits, 14)), ' ')}";
        yield return () => $"IMEI 35{R(Digits, 13)}";

        // SSN/ITIN lookalikes in never-issued ranges, nine digits without context.
        yield return () => $"SSN-like {Pick(new[] { "000", "666", $"9{R(Digits, 2)}" })}-{N(10, 69):D2}-{N(1, 9999):D4}";
        yield return () => $"{N(1, 899):D3}-00-{N(1, 9999):D4} and {N(1, 899):D3}-{N(1, 99):D2}-0000";
        yield return () => $"nine digits {N(1, 9)}{R(Digits, 8)} without context";
        yield return () => $"ITIN-like 9{R(Digits, 2)}-{Pick(new[] { 89, 93, N(10, 69) }):D2}-{N(1, 9999):D4}";

        // Checksum failures.
        yield return () => $"IBAN {Iban(valid: false)} was rejected";
        yield return () => $"code {Pick(new[] { "XX", "QQ", "ZZ" })}{R(Digits, 2)} {R(Upper + Digits, 4)} {R(Upper + Digits, 4)} {R(Digits, 4)}";
        yield return () => $"routing {Routing(valid: false)} (typo)";
        yield return () => $"account {Routing(valid: true)} reference";
        yield return () => $"NHS number {NhsInvalid()}";
        yield return () => $"send to {Base58Address(0x00, valid: false)}";
        yield return () => $"withdraw to {Segwit(0, 20, valid: false)}";
        yield return () => $"pay {EthereumBadChecksum()}";
        yield return () => $"random id {R("123", 1)}{R(Base58Alphabet, 33)}";

        // Network near-misses.
        yield return () => $"{N(256, 999)}.{N(0, 255)}.{N(0, 255)}.{N(0, 255)} is not an address, nor is {N(1, 255)}.{N(0, 255)}.{N(0, 255)}";
        yield return () => $"at {N(0, 23):D2}:{N(0, 59):D2}:{N(0, 59):D2} and {N(0, 23):D2}:{N(0, 59):D2}";
        yield return () => $"groups {R(HexLower, 2)}:{R(HexLower, 2)}:{R(HexLower, 2)}:{R(HexLower, 2)}:{R(HexLower, 2)} only five";

        // Context without a value, dates without birth context, e-mail near-misses.
        yield return () => $"born in {N(1950, 2005)}, moved to Leeds later";
        yield return () => $"DOB {N(13, 31)}/{N(13, 31)}/{N(1950, 2005)} is not a date";
        yield return () => $"born {N(2030, 2099)}-{N(1, 12):D2}-{N(1, 28):D2}";
        yield return () => $"passport photo {N(2, 5)}x{N(2, 5)} and passport office {R(Digits, 6)}";
        yield return () => $"NI {Nino(valid: false)}";
        yield return () => $"user@localhost and a@b and @{R("abcdefgh", 6)} on the forum";
        yield return () => $"{R("abcdefgh", 5)} at example dot com";
    }

    private string Isbn13()
    {
        var body = "978" + R(Digits, 9);
        var sum = body.Select((c, i) => (c - '0') * (i % 2 == 0 ? 1 : 3)).Sum();
        var isbn = body + (10 - sum % 10) % 10;
        return $"ISBN {isbn[..3]}-{isbn[3]}-{isbn[4..6]}-{isbn[6..12]}-{isbn[12]}";
    }

    private string Isbn10()
    {
        var body = R(Digits, 9);
        var sum = body.Select((c, i) => (c - '0') * (10 - i)).Sum();
        var check = (11 - sum % 11) % 11;
        return $"ISBN {body[0]}-{body[1..4]}-{body[4..9]}-{(check == 10 ? "X" : check.ToString(CultureInfo.InvariantCulture))}";
    }

    private string LuhnFail(int length, string prefix)
    {
        var valid = LuhnComplete(prefix + R(Digits, length - prefix.Length - 1));
        var last = (char)('0' + (valid[^1] - '0' + N(1, 9)) % 10);
        return $"Order #{valid[..^1]}{last} shipped, ref {GroupCard(valid[..^1] + last, ' ')}";
    }

    private string NhsInvalid()
    {
        while (true)
        {
            var digits = N(4, 7) + R(Digits, 9);
            if (!Checksums.NhsMod11(digits))
            {
                return digits;
            }
        }
    }

    private string EthereumBadChecksum()
    {
        var good = EthereumChecksummed();
        var chars = good.ToCharArray();
        for (var i = 2; i < chars.Length; i++)
        {
            if (char.IsAsciiLetter(chars[i]))
            {
                chars[i] = char.IsAsciiLetterUpper(chars[i]) ? char.ToLowerInvariant(chars[i]) : char.ToUpperInvariant(chars[i]);
                var flipped = new string(chars);
                var hex = flipped.AsSpan(2);
                if (hex.ContainsAnyInRange('a', 'f') && hex.ContainsAnyInRange('A', 'F'))
                {
                    return flipped;
                }
            }
        }

        return "0x" + new string('g', 40);
    }
}
