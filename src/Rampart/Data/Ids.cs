using System.Security.Cryptography;

namespace Rampart.Data;

/// <summary>Readable, random, prefixed identifiers (<c>usr_…</c>, <c>ws_…</c>, <c>key_…</c>) that work the same in every database.</summary>
internal static class Ids
{
    public const string Base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string New(string prefix) => prefix + "_" + RandomBase62(16);

    public static string RandomBase62(int length) => RandomNumberGenerator.GetString(Base62Alphabet, length);
}
