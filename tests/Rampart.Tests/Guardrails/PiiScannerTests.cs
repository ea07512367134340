using Rampart.Guardrails.Pii;

namespace Rampart.Tests.Guardrails;

public sealed class PiiScannerTests
{
    [Fact]
    public void ThousandsOfFindingsInOneText_EachFoundOnceInTextOrder()
    {
        var text = string.Concat(Enumerable.Range(0, 5000).Select(i => $"user{i}@example.com paid with 4111 1111 1111 1111; "));

        var findings = PiiScanner.Scan(text);

        Assert.Equal(10_000, findings.Count);
        Assert.Equal(5000, findings.Count(f => f.Kind == "EMAIL"));
        Assert.Equal(5000, findings.Count(f => f.Kind == "CREDIT_CARD"));
        Assert.Equal(findings.OrderBy(f => f.Start), findings);
        Assert.All(findings.Zip(findings.Skip(1)), pair => Assert.True(pair.First.End <= pair.Second.Start));
        Assert.Equal("user4999@example.com", text.Substring(findings[^2].Start, findings[^2].Length));
    }

    [Theory]
    [InlineData("Write to jane.doe+billing@example.co.uk today", "EMAIL", "jane.doe+billing@example.co.uk")]
    [InlineData("Card: 4111 1111 1111 1111, exp 12/29", "CREDIT_CARD", "4111 1111 1111 1111")]
    [InlineData("Amex 3782-822463-10005 please", "CREDIT_CARD", "3782-822463-10005")]
    [InlineData("mastercard 5555555555554444.", "CREDIT_CARD", "5555555555554444")]
    [InlineData("SSN 123-45-6789 on file", "SSN", "123-45-6789")]
    [InlineData("my ssn is 123456789", "SSN", "123456789")]
    [InlineData("server at 192.168.10.24 is down", "IP_ADDRESS", "192.168.10.24")]
    [InlineData("ping 2001:db8:85a3::8a2e:370:7334 now", "IP_ADDRESS", "2001:db8:85a3::8a2e:370:7334")]
    [InlineData("v6 fe80:0:0:0:202:b3ff:fe1e:8329 link", "IP_ADDRESS", "fe80:0:0:0:202:b3ff:fe1e:8329")]
    [InlineData("Pay to DE89 3704 0044 0532 0130 00 by Friday", "IBAN", "DE89 3704 0044 0532 0130 00")]
    [InlineData("IBAN GB82WEST12345698765432", "IBAN", "GB82WEST12345698765432")]
    [InlineData("Call me on +44 20 7946 0958", "PHONE", "+44 20 7946 0958")]
    [InlineData("US office (415) 555-2671", "PHONE", "(415) 555-2671")]
    [InlineData("cell 415-555-2671", "PHONE", "415-555-2671")]
    [InlineData("Appelez le 01 23 45 67 89", "PHONE", "01 23 45 67 89")]
    [InlineData("UK mobile 07700 900123 ok", "PHONE", "07700 900123")]
    [InlineData("Berlin +49 30 12345678", "PHONE", "+49 30 12345678")]
    [InlineData("Tel: 030 1234567", "PHONE", "030 1234567")]
    public void SeedAndChecksumTypes_AreFoundExactly(string text, string type, string value)
        => AssertFoundExactly(text, type, value);

    [Theory]
    [InlineData("Order #4111111111111112 shipped")] // Luhn fails
    [InlineData("Tracking 1234 5678 9012 3456")] // Luhn fails
    [InlineData("ISBN 978-3-16-148410-0")]
    [InlineData("Invoice 2024-11-22 10:30:45, build 1.2.3.4567")]
    [InlineData("version 10.0.14.1 of the runtime")]
    [InlineData("upgrade to 1.2.3.4.5")]
    [InlineData("uuid 550e8400-e29b-41d4-a716-446655440000")]
    [InlineData("git sha 3f2c1a9b8e7d6c5b4a39281706f5e4d3c2b1a098")]
    [InlineData("timestamp 1732270245123 and 12:30:45")]
    [InlineData("SSN-like 000-12-3456 and 666-12-3456 and 900-12-3456 and 123-00-4567 and 123-45-0000")]
    [InlineData("nine digits 123456789 without context")]
    [InlineData("ratio 3.14159265 and pi")]
    [InlineData("the answer is 42 and the year is 2026")]
    [InlineData("IBAN-ish DE89 3704 0044 0532 0130 01 has a bad check")]
    [InlineData("order number 555-123-4567-99 reference")]
    [InlineData("See RFC 8259, section 8.1, and page 123-456-7890123")]
    [InlineData("Dial code 123-456-7890")] // NANP area codes never start with 1
    [InlineData("a@b is not an address, nor is user@localhost")]
    [InlineData("0000 0000 0000 0000")]
    [InlineData("the version 1.2.3-beta.4 and 2024-11-22T10:30:45Z")]
    public void HardNegatives_AreNotPii(string text) => Assert.Empty(PiiScanner.Scan(text));

    [Theory]
    [InlineData("NIC a1:b2:c3:d4:e5:f6 is not an IP", "MAC_ADDRESS", "a1:b2:c3:d4:e5:f6")]
    [InlineData("hwaddr 00-1A-2B-3C-4D-5E.", "MAC_ADDRESS", "00-1A-2B-3C-4D-5E")]
    [InlineData("switch port 001a.2b3c.4d5e is up", "MAC_ADDRESS", "001a.2b3c.4d5e")]
    [InlineData("send to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa please", "CRYPTO_WALLET", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")]
    [InlineData("P2SH 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "CRYPTO_WALLET", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy")]
    [InlineData("segwit bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4.", "CRYPTO_WALLET", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")]
    [InlineData("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "CRYPTO_WALLET", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4")]
    [InlineData("taproot bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "CRYPTO_WALLET", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0")]
    [InlineData("pay 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed now", "CRYPTO_WALLET", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")]
    [InlineData("my ETH wallet: 0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359", "CRYPTO_WALLET", "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359")]
    [InlineData("ITIN 912-78-1234 on the W-7", "US_ITIN", "912-78-1234")]
    [InlineData("my ITIN is 912941234", "US_ITIN", "912941234")]
    [InlineData("routing number 021000021, account 12345", "US_BANK_ROUTING", "021000021")]
    [InlineData("ABA: 011000015", "US_BANK_ROUTING", "011000015")]
    [InlineData("passport number C03005988 issued 2019", "US_PASSPORT", "C03005988")]
    [InlineData("Passport: 912345678", "US_PASSPORT", "912345678")]
    [InlineData("NI number AB 12 34 56 C", "UK_NINO", "AB 12 34 56 C")]
    [InlineData("nino=AB123456D;", "UK_NINO", "AB123456D")]
    [InlineData("NHS number 943 476 5919", "UK_NHS", "943 476 5919")]
    [InlineData("patient 9434765919 admitted", "UK_NHS", "9434765919")]
    [InlineData("ref 943 476 5919", "UK_NHS", "943 476 5919")]
    [InlineData("call 943 476 5919 tonight", "PHONE", "943 476 5919")] // a phone word makes the same digits a phone number
    [InlineData("born on 17/05/1990 in Leeds", "DATE_OF_BIRTH", "17/05/1990")]
    [InlineData("DOB: 1985-12-01", "DATE_OF_BIRTH", "1985-12-01")]
    [InlineData("date of birth: March 3, 1978.", "DATE_OF_BIRTH", "March 3, 1978")]
    [InlineData("birthday 3rd of July 1992", "DATE_OF_BIRTH", "3rd of July 1992")]
    [InlineData("geboren am 12.07.1961", "DATE_OF_BIRTH", "12.07.1961")]
    public void NewTypes_AreFoundExactly(string text, string type, string value)
        => AssertFoundExactly(text, type, value);

    [Theory]
    [InlineData("a1:b2:c3:d4:e5:f6:a7 is too long for a MAC")]
    [InlineData("reference 12-34-56-78-90-12 is all digits")]
    [InlineData("send to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb please")] // checksum fails
    [InlineData("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5")] // checksum fails
    [InlineData("bc1qw508d6qejxtdg4y5r3zarvary0c5XW7KV8F3T4")] // mixed case is never valid bech32
    [InlineData("pay 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD now")] // EIP-55 fails
    [InlineData("hash 0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359 in the log")] // one case, no wallet word
    [InlineData("tx 0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359fb6916095ca1df60bb79ce92")]
    [InlineData("ITIN-like 912-93-1234 uses a group never issued")]
    [InlineData("routing 021000022 fails the checksum")]
    [InlineData("account 021000021 without the word")]
    [InlineData("database 021000021 is not 'aba'")]
    [InlineData("the passport office took 12345678 minutes")]
    [InlineData("passport 1111111111")]
    [InlineData("NI GB 12 34 56 A has a never-issued prefix")]
    [InlineData("NI AB 12 34 56 E has a bad suffix")]
    [InlineData("NHS 123 456 7890 fails mod 11")]
    [InlineData("meeting on 2024-05-17 at noon")]
    [InlineData("born 2099-01-01 is in the future")]
    [InlineData("DOB 31/02/1990 does not exist")]
    [InlineData("stubborn bug since 2019-03-04")]
    public void NewTypes_HardNegatives_AreNotPii(string text) => Assert.Empty(PiiScanner.Scan(text));

    [Fact]
    public void NewChecksums_MatchPublishedExamples()
    {
        Span<byte> hash = stackalloc byte[32];
        Keccak256.Hash([], hash);
        Assert.Equal("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470", Convert.ToHexStringLower(hash));
        Assert.True(Checksums.Eip55("fB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"));
        Assert.True(Checksums.Eip55("dbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"));
        Assert.False(Checksums.Eip55("dbF03B407c01E7cD3CBea99509d93f8DDDC8C6Fb"));
        Assert.Equal(0x00, Checksums.Base58CheckVersion("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
        Assert.Equal(0x05, Checksums.Base58CheckVersion("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"));
        Assert.True(Checksums.SegwitAddress("bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", "bc"));
        Assert.True(Checksums.SegwitAddress("BC1SW50QGDZ25J", "bc"));
        Assert.False(Checksums.SegwitAddress("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4".Replace("q", "p", StringComparison.Ordinal), "bc"));
        Assert.True(Checksums.AbaRouting("021000021"));
        Assert.False(Checksums.AbaRouting("021000022"));
        Assert.True(Checksums.NhsMod11("9434765919"));
        Assert.False(Checksums.NhsMod11("9434765918"));
    }

    [Fact]
    public void MixedText_FindsEachValueOnce_InOrder()
    {
        var text = "Hi, I'm Ann (ann@corp.example), card 4242 4242 4242 4242, IP 10.0.0.7, phone +1 415 555 2671.";

        var kinds = PiiScanner.Scan(text).Select(f => f.Kind);

        Assert.Equal(["EMAIL", "CREDIT_CARD", "IP_ADDRESS", "PHONE"], kinds);
    }

    [Theory]
    [InlineData("x4111111111111111")]
    [InlineData("4111111111111111x")]
    [InlineData("id_4111 1111 1111 1111")]
    [InlineData("ssn 123-45-6789b")]
    [InlineData("ssn a123-45-6789")]
    [InlineData("IBAN xGB82WEST12345698765432")]
    [InlineData("server 10.0.0.7x")]
    [InlineData("NIC a1:b2:c3:d4:e5:f6g")]
    [InlineData("NI number ZAB 12 34 56 C")]
    [InlineData("send to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa_x")]
    [InlineData("ann@corp.example_x")]
    public void ValueGluedToALetterDigitOrUnderscore_IsNotPii(string text) => Assert.Empty(PiiScanner.Scan(text));

    [Theory]
    [InlineData("4111111111111111", "CREDIT_CARD", "4111111111111111")]
    [InlineData("(4111 1111 1111 1111)", "CREDIT_CARD", "4111 1111 1111 1111")]
    [InlineData("card:4111111111111111;", "CREDIT_CARD", "4111111111111111")]
    [InlineData("123-45-6789", "SSN", "123-45-6789")]
    [InlineData("[GB82WEST12345698765432]", "IBAN", "GB82WEST12345698765432")]
    [InlineData("host=10.0.0.7,", "IP_ADDRESS", "10.0.0.7")]
    [InlineData("<ann@corp.example>", "EMAIL", "ann@corp.example")]
    // Only ASCII letters, digits and '_' glue: Chinese and Japanese write numbers without spaces around them.
    [InlineData("カード番号4111111111111111です", "CREDIT_CARD", "4111111111111111")]
    [InlineData("номер123-45-6789", "SSN", "123-45-6789")]
    [InlineData("IP地址10.0.0.7。", "IP_ADDRESS", "10.0.0.7")]
    public void ValueBetweenPunctuationOrAtTheEdges_IsFound(string text, string type, string value)
        => AssertFoundExactly(text, type, value);

    [Theory]
    // The longest candidate runs into a digit; the card is the longest match that ends before a separator.
    [InlineData("card 4111 1111 1111 1111 1234", "CREDIT_CARD", "4111 1111 1111 1111")]
    // The leftmost candidate starts inside "ab12": the search resumes at the next word, where the card starts.
    [InlineData("ab12 4111 1111 1111 1111", "CREDIT_CARD", "4111 1111 1111 1111")]
    // A rejected candidate that would have overlapped the SSN ("12345 1234") does not hide it.
    [InlineData("ssn 12345 123456789", "SSN", "123456789")]
    // A capital letter a space before the number ("E 123456789") once made the engine skip the number's first digit.
    [InlineData("passport E 123456789", "US_PASSPORT", "123456789")]
    public void CandidateGluedToAWord_DoesNotHideTheValueInsideIt(string text, string type, string value)
        => AssertFoundExactly(text, type, value);

    [Fact]
    public void WindowedScan_FindsExactlyWhatTheWholeTextScanFinds_AndMayFindNeverSaysNoToIt()
    {
        // Pieces that are PII, near-PII and noise, glued in random order with random separators.
        string[] pieces =
        [
            "4111 1111 1111 1111", "4111-1111-1111-1112", "(415) 555-2671", "415.555.2671", "+44 20 7946 0958", "+1 (415) 555-2671",
            "01 23 45 67 89", "07700 900123", "123-45-6789", "666-45-6789", "123456789", "ssn 123456789", "10.0.0.7", "1.2.3.4.5",
            "v1.2.3.4", "version 10.0.14.1", "DE89 3704 0044 0532 0130 00", "ann@corp.example", "2026-11-22", "12:30:45", "#1234567",
            "1,204", "0.3%", "Q3", "p99 182 ms", "a", "the", "call", "phone:", "tel", "(", ")", "+", "-", ".",
            "a1:b2:c3:d4:e5:f6", "00-1A-2B-3C-4D-5E", "001a.2b3c.4d5e", "2001:db8::1", "fe80::202:b3ff:fe1e:8329", "12:30",
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "wallet 0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359", "912-78-1234", "itin 912941234", "routing 021000021", "021000021",
            "passport", "C03005988", "912345678", "AB 12 34 56 C", "AB123456D", "NHS", "943 476 5919", "9434765919", "born", "DOB:",
            "17/05/1990", "1985-12-01", "March 3, 1978", "GB82WEST12345698765432", "XX12", "DE89", "ABCD", "b", "bc1", "0x",
            "bob.smith+news@mail.example.co.uk", "me@localhost", "a@b.c", "@", "@@", "x@y.zz@w.example", "%",
            "aa:bb:cc:dd:ee:ff", "fe::ab:cd", "dead:beef::cafe", "ab-cd-ef-ab-cd-ef",
        ];
        string[] glue = [" ", "  ", ", ", "\n", " - ", "(", ") ", ": ", "/", "x", "_", "é", "日本", "1"];
        var random = new Random(20261122);
        var (found, foundWithoutDigits) = (0, 0);
        for (var round = 0; round < 2_000; round++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(1, 12)).Select(_ => pieces[random.Next(pieces.Length)] + glue[random.Next(glue.Length)]));

            var windowed = PiiScanner.Scan(text, windowed: true);
            var whole = PiiScanner.Scan(text, windowed: false);

            Assert.True(whole.SequenceEqual(windowed), $"differs on: {text}");
            Assert.True(whole.Count == 0 || PiiScanner.MayFind(text), $"found PII where MayFind says there can be none: {text}");
            found += whole.Count > 0 ? 1 : 0;
            foundWithoutDigits += whole.Count > 0 && !text.Any(char.IsAsciiDigit) ? 1 : 0;
        }

        Assert.InRange(found, 1_000, 2_000);
        Assert.InRange(foundWithoutDigits, 5, 2_000);
    }

    [Fact]
    public void Luhn_And_Mod97_MatchPublishedExamples()
    {
        Assert.True(Checksums.Luhn("79927398713"));
        Assert.False(Checksums.Luhn("79927398710"));
        Assert.True(Checksums.IbanMod97("GB82WEST12345698765432"));
        Assert.False(Checksums.IbanMod97("GB82WEST12345698765433"));
    }

    private static void AssertFoundExactly(string text, string type, string value)
    {
        var finding = Assert.Single(PiiScanner.Scan(text));

        Assert.Equal(type, finding.Kind);
        Assert.Equal(value, text.Substring(finding.Start, finding.Length));
    }
}
