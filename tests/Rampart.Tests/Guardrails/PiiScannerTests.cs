using Rampart.Guardrails.Pii;

namespace Rampart.Tests.Guardrails;

public sealed class PiiScannerTests
{
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
    {
        var finding = Assert.Single(PiiScanner.Scan(text));

        Assert.Equal(type, finding.Kind);
        Assert.Equal(value, text.Substring(finding.Start, finding.Length));
    }

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
    [InlineData("mac-ish a1:b2:c3:d4:e5:f6 is not an IP")]
    [InlineData("order number 555-123-4567-99 reference")]
    [InlineData("See RFC 8259, section 8.1, and page 123-456-7890123")]
    [InlineData("Dial code 123-456-7890")] // NANP area codes never start with 1
    [InlineData("a@b is not an address, nor is user@localhost")]
    [InlineData("0000 0000 0000 0000")]
    public void HardNegatives_AreNotPii(string text) => Assert.Empty(PiiScanner.Scan(text));

    [Fact]
    public void MixedText_FindsEachValueOnce_InOrder()
    {
        var text = "Hi, I'm Ann (ann@corp.example), card 4242 4242 4242 4242, IP 10.0.0.7, phone +1 415 555 2671.";

        var kinds = PiiScanner.Scan(text).Select(f => f.Kind);

        Assert.Equal(["EMAIL", "CREDIT_CARD", "IP_ADDRESS", "PHONE"], kinds);
    }

    [Fact]
    public void WindowedScan_FindsExactlyWhatTheWholeTextScanFinds()
    {
        // Pieces that are PII, near-PII and noise, glued in random order with random separators.
        string[] pieces =
        [
            "4111 1111 1111 1111", "4111-1111-1111-1112", "(415) 555-2671", "415.555.2671", "+44 20 7946 0958", "+1 (415) 555-2671",
            "01 23 45 67 89", "07700 900123", "123-45-6789", "666-45-6789", "123456789", "ssn 123456789", "10.0.0.7", "1.2.3.4.5",
            "v1.2.3.4", "version 10.0.14.1", "DE89 3704 0044 0532 0130 00", "ann@corp.example", "2026-11-22", "12:30:45", "#1234567",
            "1,204", "0.3%", "Q3", "p99 182 ms", "a", "the", "call", "phone:", "tel", "(", ")", "+", "-", ".",
        ];
        string[] glue = [" ", "  ", ", ", "\n", " - ", "(", ") ", ": ", "/", "x"];
        var random = new Random(20261122);
        for (var round = 0; round < 2_000; round++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(1, 12)).Select(_ => pieces[random.Next(pieces.Length)] + glue[random.Next(glue.Length)]));

            var windowed = PiiScanner.Scan(text, windowed: true);
            var whole = PiiScanner.Scan(text, windowed: false);

            Assert.True(whole.SequenceEqual(windowed), $"differs on: {text}");
        }
    }

    [Fact]
    public void Luhn_And_Mod97_MatchPublishedExamples()
    {
        Assert.True(Checksums.Luhn("79927398713"));
        Assert.False(Checksums.Luhn("79927398710"));
        Assert.True(Checksums.IbanMod97("GB82WEST12345698765432"));
        Assert.False(Checksums.IbanMod97("GB82WEST12345698765433"));
    }
}
