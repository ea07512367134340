using System.Diagnostics;
using Rampart.Guardrails.Secrets;

namespace Rampart.Tests.Guardrails;

public sealed class SecretScannerTests
{
    public static TheoryData<string, string, string> Secrets()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (kind, text, secret) in FakeSecrets.All())
        {
            data.Add(kind, text, secret);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Secrets))]
    public void EverySecretFamily_IsFound_WithItsKindAndPosition(string kind, string text, string secret)
    {
        var findings = SecretScanner.Default.Scan(text);

        var finding = Assert.Single(findings);
        Assert.Equal(kind, finding.Kind);
        Assert.Contains(secret.TrimEnd('='), text.Substring(finding.Start, finding.Length), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Please summarise this quarterly report about our API key management strategy.")]
    [InlineData("The password policy requires 12 characters.")]
    [InlineData("export OPENAI_API_KEY=${OPENAI_API_KEY}")]
    [InlineData("api_key: <your-api-key>")]
    [InlineData("Set OPENAI_API_KEY=sk-... in your shell")]
    [InlineData("token = xxxxxxxxxxxxxxxxxxxx")]
    [InlineData("aws_access_key_id = AKIAIOSFODNN7EXAMPLE")]
    [InlineData("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")]
    [InlineData("postgres://user:password@localhost:5432/db")]
    [InlineData("postgres://app:${DB_PASSWORD}@db:5432/app")]
    [InlineData("Password=<password>;Server=x")]
    [InlineData("commit 3f2c1a9b8e7d6c5b4a39281706f5e4d3c2b1a098 fixed the token refresh")]
    [InlineData("request id 550e8400-e29b-41d4-a716-446655440000, version 1.2.3-beta.4")]
    [InlineData("The bearer of this letter is my friend.")]
    [InlineData("-----BEGIN RSA PRIVATE KEY----- is the header of a PEM file.")]
    [InlineData("password: hunter22")]
    [InlineData("my secret is that I like pineapple pizza")]
    [InlineData("sk-ant-api03-short")]
    [InlineData("ghp_tooShort123")]
    public void OrdinaryTextAndPlaceholders_AreNotSecrets(string text) =>
        Assert.Empty(SecretScanner.Default.Scan(text));

    [Fact]
    public void TokenCutFromALongerToken_IsNotReported()
    {
        var tooLong = "ghp_" + FakeSecrets.R("abcdefghijklmnopqrstuvwxyz0123456789", 40);

        Assert.Empty(SecretScanner.Default.Scan($"id {tooLong} end"));
    }

    /// <summary>Keys from the families whose patterns used to end in <c>\b</c>; the boundary is now checked after the match.</summary>
    public static TheoryData<string, string> BoundedKeys()
    {
        const string alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        return new TheoryData<string, string>
        {
            { "GitHub token", "ghp_" + FakeSecrets.R(alnum, 36) },
            { "AWS access key ID", "AKIA" + FakeSecrets.R("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16) },
            { "Stripe API key", "sk_live_" + FakeSecrets.R(alnum, 24) },
            { "npm access token", "npm_" + FakeSecrets.R(alnum, 36) },
            { "Twilio API key", "SK" + FakeSecrets.R("0123456789abcdef", 32) },
            { "Google API key", "AIza" + FakeSecrets.R(alnum, 35) },
            { "GitLab token", "glpat-" + FakeSecrets.R(alnum, 20) },
        };
    }

    [Theory]
    [MemberData(nameof(BoundedKeys))]
    public void KeyGluedToALetterOrDigit_IsNotReported(string kind, string key)
    {
        Assert.DoesNotContain(SecretScanner.Default.Scan($"id x{key} end"), f => f.Kind == kind);
        // '_' rather than a letter on the right: a Stripe key has no fixed length, so a letter would only lengthen it.
        Assert.DoesNotContain(SecretScanner.Default.Scan($"id {key}_x end"), f => f.Kind == kind);
        Assert.DoesNotContain(SecretScanner.Default.Scan($"id 7{key}"), f => f.Kind == kind);
    }

    [Theory]
    [MemberData(nameof(BoundedKeys))]
    public void KeyBetweenPunctuation_OrAtTheEdgesOfTheText_IsReported(string kind, string key)
    {
        foreach (var text in new[] { key, $"({key})", $"key:{key};", $"\"{key}\"", $"{key}.", $"/{key}/" })
        {
            var finding = Assert.Single(SecretScanner.Default.Scan(text));
            Assert.Equal(kind, finding.Kind);
            Assert.Equal(key, text.Substring(finding.Start, finding.Length));
        }
    }

    [Theory]
    [MemberData(nameof(BoundedKeys))]
    public void KeyWrittenAgainstNonAsciiLetters_IsReported(string kind, string key)
    {
        // Only ASCII letters, digits, '_' and '-' glue to a key: Chinese and Japanese put no spaces around it.
        foreach (var text in new[] { $"トークンは{key}です", $"ключ{key}", $"clé{key}é" })
        {
            var finding = Assert.Single(SecretScanner.Default.Scan(text));
            Assert.Equal(kind, finding.Kind);
            Assert.Equal(key, text.Substring(finding.Start, finding.Length));
        }
    }

    [Fact]
    public void SeveralSecrets_AreAllFound_InOrder()
    {
        var secrets = FakeSecrets.All().Take(6).ToList();
        var text = string.Join("\n\nand also ", secrets.Select(s => s.Text));

        var findings = SecretScanner.Default.Scan(text);

        Assert.Equal(secrets.Select(s => s.Kind), findings.Select(f => f.Kind));
        Assert.True(findings.Zip(findings.Skip(1)).All(p => p.First.End <= p.Second.Start));
    }

    [Fact]
    public void HostileNearMatches_ScanInLinearTime()
    {
        // 1 MB of text built to tease every rule: keyword prefixes, long token runs, unterminated URLs and PEM headers.
        var unit = "ghp_ aws secret = AKIA sk-proj- xoxb-1234567890- postgres://u: Authorization: Bearer password= eyJ.eyJ -----BEGIN PRIVATE KEY----- ";
        var hostile = string.Concat(Enumerable.Repeat(unit + new string('a', 200) + " ", 1_048_576 / (unit.Length + 201)));
        SecretScanner.Default.Scan(hostile[..10_000]);

        var watch = Stopwatch.StartNew();
        SecretScanner.Default.Scan(hostile);
        watch.Stop();

        // A generous bound that only catastrophic (super-linear) behaviour can exceed; the real figure is in bench/.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"scan of 1 MB hostile text took {watch.Elapsed}");
    }
}
