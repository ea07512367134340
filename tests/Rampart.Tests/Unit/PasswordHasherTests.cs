using Rampart.Auth;

namespace Rampart.Tests.Unit;

public sealed class PasswordHasherTests
{
    // Low iteration count: these tests check the format and the comparison, not the work factor.
    private const int Iterations = 1000;

    [Fact]
    public void Verify_RightPassword_ReturnsTrue()
    {
        var stored = PasswordHasher.Hash("correct horse battery staple", Iterations);

        Assert.True(PasswordHasher.Verify("correct horse battery staple", stored));
    }

    [Fact]
    public void Verify_WrongPassword_ReturnsFalse()
    {
        var stored = PasswordHasher.Hash("correct horse battery staple", Iterations);

        Assert.False(PasswordHasher.Verify("correct horse battery stapler", stored));
        Assert.False(PasswordHasher.Verify("", stored));
    }

    [Fact]
    public void Hash_IsSelfDescribingAndSalted()
    {
        var first = PasswordHasher.Hash("pässwörd", Iterations);
        var second = PasswordHasher.Hash("pässwörd", Iterations);

        var parts = first.Split('$');
        Assert.Equal(4, parts.Length);
        Assert.Equal("pbkdf2-sha256", parts[0]);
        Assert.Equal("1000", parts[1]);
        Assert.Equal(16, Convert.FromBase64String(parts[2]).Length);
        Assert.Equal(32, Convert.FromBase64String(parts[3]).Length);
        Assert.NotEqual(first, second);
        Assert.True(PasswordHasher.Verify("pässwörd", second));
    }

    [Fact]
    public void Hash_DefaultIterations_AreRecordedInTheHash()
    {
        Assert.Equal(600_000, PasswordHasher.DefaultIterations);
        Assert.StartsWith("pbkdf2-sha256$600000$", PasswordHasher.Hash("x"), StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_TamperedHash_ReturnsFalse()
    {
        var stored = PasswordHasher.Hash("secret", Iterations);
        var parts = stored.Split('$');
        var hash = Convert.FromBase64String(parts[3]);
        hash[0] ^= 0x01;
        var tamperedHash = string.Join('$', parts[0], parts[1], parts[2], Convert.ToBase64String(hash));
        var salt = Convert.FromBase64String(parts[2]);
        salt[^1] ^= 0x80;
        var tamperedSalt = string.Join('$', parts[0], parts[1], Convert.ToBase64String(salt), parts[3]);
        var tamperedIterations = string.Join('$', parts[0], "1001", parts[2], parts[3]);

        Assert.False(PasswordHasher.Verify("secret", tamperedHash));
        Assert.False(PasswordHasher.Verify("secret", tamperedSalt));
        Assert.False(PasswordHasher.Verify("secret", tamperedIterations));
    }

    [Theory]
    [InlineData("")]
    [InlineData("secret")]
    [InlineData("pbkdf2-sha256$1000$c2FsdA==")]
    [InlineData("pbkdf2-sha256$1000$c2FsdA==$aGFzaA==$extra")]
    [InlineData("bcrypt$1000$c2FsdA==$aGFzaA==")]
    [InlineData("pbkdf2-sha256$many$c2FsdA==$aGFzaA==")]
    [InlineData("pbkdf2-sha256$0$c2FsdA==$aGFzaA==")]
    [InlineData("pbkdf2-sha256$-5$c2FsdA==$aGFzaA==")]
    [InlineData("pbkdf2-sha256$1000$not base64!$aGFzaA==")]
    [InlineData("pbkdf2-sha256$1000$c2FsdA==$not base64!")]
    [InlineData("pbkdf2-sha256$1000$c2FsdA==$")]
    public void Verify_GarbageFormat_ReturnsFalse(string stored)
    {
        Assert.False(PasswordHasher.Verify("secret", stored));
    }
}
