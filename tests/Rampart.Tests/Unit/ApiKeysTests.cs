using Rampart.Auth;
using Rampart.Data;

namespace Rampart.Tests.Unit;

public sealed class ApiKeysTests
{
    [Fact]
    public void Generate_Returns42CharacterRmpKey()
    {
        var generated = ApiKeys.Generate();

        Assert.Equal(42, generated.Key.Length);
        Assert.Equal(ApiKeys.Length, generated.Key.Length);
        Assert.StartsWith("rmp_", generated.Key, StringComparison.Ordinal);
        Assert.All(generated.Key[4..], c => Assert.Contains(c, Ids.Base62Alphabet));
    }

    [Fact]
    public void Generate_KeyIsWellFormed()
    {
        var generated = ApiKeys.Generate();

        Assert.True(ApiKeys.IsWellFormed(generated.Key));
    }

    [Fact]
    public void Generate_CarriesHashAndDisplayPrefixOfTheKey()
    {
        var generated = ApiKeys.Generate();

        Assert.Equal(ApiKeys.Hash(generated.Key), generated.Hash);
        Assert.Equal(generated.Key[..12], generated.Prefix);
        Assert.Equal(generated.Prefix, ApiKeys.DisplayPrefix(generated.Key));
    }

    [Fact]
    public void Generate_ThousandKeys_AreDistinct()
    {
        var keys = Enumerable.Range(0, 1000).Select(_ => ApiKeys.Generate().Key).ToList();

        Assert.Equal(1000, keys.Distinct(StringComparer.Ordinal).Count());
        Assert.All(keys, k => Assert.True(ApiKeys.IsWellFormed(k), k));
    }

    [Fact]
    public void AnySingleCharacterChange_BreaksIsWellFormed()
    {
        var key = ApiKeys.Generate().Key;

        for (var i = 0; i < key.Length; i++)
        {
            foreach (var replacement in Ids.Base62Alphabet.Append('_'))
            {
                if (replacement == key[i])
                {
                    continue;
                }

                var changed = string.Concat(key.AsSpan(0, i), replacement.ToString(), key.AsSpan(i + 1));
                Assert.False(ApiKeys.IsWellFormed(changed), $"changing position {i} to '{replacement}' still passed: {changed}");
            }
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("rmp_")]
    [InlineData("sk-proj-0123456789012345678901234567890123")]
    [InlineData("RMP_0123456789012345678901234567890123456")]
    public void IsWellFormed_RejectsOtherShapes(string candidate)
    {
        Assert.False(ApiKeys.IsWellFormed(candidate));
    }

    [Fact]
    public void IsWellFormed_RejectsTruncatedAndExtendedKeys()
    {
        var key = ApiKeys.Generate().Key;

        Assert.False(ApiKeys.IsWellFormed(key.AsSpan(0, key.Length - 1)));
        Assert.False(ApiKeys.IsWellFormed(key + "a"));
        Assert.False(ApiKeys.IsWellFormed(" " + key));
    }

    [Fact]
    public void Hash_Is64LowercaseHexAndDeterministic()
    {
        var key = ApiKeys.Generate().Key;

        var first = ApiKeys.Hash(key);
        var second = ApiKeys.Hash(key);

        Assert.Equal(64, first.Length);
        Assert.All(first, c => Assert.True(c is (>= '0' and <= '9') or (>= 'a' and <= 'f'), $"'{c}' is not lower-case hex"));
        Assert.Equal(first, second);
        Assert.NotEqual(first, ApiKeys.Hash(ApiKeys.Generate().Key));
    }

    [Fact]
    public void Hash_IsSha256OfUtf8()
    {
        // SHA-256("abc"), the FIPS 180-2 test vector.
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ApiKeys.Hash("abc"));
    }

    [Fact]
    public void HashesEqual_ComparesExactly()
    {
        var hash = ApiKeys.Hash(ApiKeys.Generate().Key);
        var other = ApiKeys.Hash(ApiKeys.Generate().Key);

        Assert.True(ApiKeys.HashesEqual(hash, new string(hash.AsSpan())));
        Assert.False(ApiKeys.HashesEqual(hash, other));
        Assert.False(ApiKeys.HashesEqual(hash, hash[..^1]));
        Assert.False(ApiKeys.HashesEqual(hash, hash.ToUpperInvariant()));
    }
}
