using System.Security.Cryptography;

namespace Rampart.Data;

/// <summary>Readable, random, prefixed identifiers (<c>usr_…</c>, <c>ws_…</c>, <c>key_…</c>) that work the same in every database.</summary>
internal static class Ids
{
    public const string Base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string New(string prefix) => prefix + "_" + RandomBase62(16);

    /// <summary>Unguessable: for keys, passwords, canaries and stored ids.</summary>
    public static string RandomBase62(int length) => RandomNumberGenerator.GetString(Base62Alphabet, length);

    /// <summary>
    /// Unique but not secret, for per-request identifiers (request ids, response ids): the cryptographic generator is
    /// not needed there and costs about twice as much (0.8-0.9 µs against 0.45 µs for 22 characters, measured here);
    /// 22 base62 characters (131 bits) from the shared pseudo-random generator make collisions as unlikely.
    /// </summary>
    public static string UniqueBase62(int length) => string.Create(length, 0, static (span, _) =>
    {
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = Base62Alphabet[Random.Shared.Next(Base62Alphabet.Length)];
        }
    });

    /// <summary>
    /// Unique, not secret, and in time order (8 base62 characters of Unix milliseconds, then 14 random ones, 83 bits): a
    /// request id that is also the audit log's primary key, so new rows go to the end of its index instead of a random
    /// page of it. With random keys every insert touched a random page of an index that outgrew the database cache, and
    /// the audit writer's CPU per record grew with the size of the log.
    /// </summary>
    public static string TimeOrderedBase62(DateTimeOffset now, string prefix = "") =>
        string.Create(prefix.Length + 22, (prefix, Milliseconds: now.ToUnixTimeMilliseconds()), static (span, state) =>
        {
            state.prefix.CopyTo(span);
            var id = span[state.prefix.Length..];
            var milliseconds = state.Milliseconds;
            for (var i = 7; i >= 0; i--)
            {
                id[i] = Base62Alphabet[(int)(milliseconds % 62)];
                milliseconds /= 62;
            }

            for (var i = 8; i < id.Length; i++)
            {
                id[i] = Base62Alphabet[Random.Shared.Next(Base62Alphabet.Length)];
            }
        });
}
