using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Rampart.Auth;

/// <summary>
/// PBKDF2-HMAC-SHA256 password hashes in a self-describing form: <c>pbkdf2-sha256$iterations$salt$hash</c>.
/// 600,000 iterations is OWASP's 2023 recommendation; stored hashes keep their own count, so raising it later
/// does not invalidate existing passwords.
/// </summary>
internal static class PasswordHasher
{
    public const int DefaultIterations = 600_000;
    private const string Scheme = "pbkdf2-sha256";
    private const int HashBytes = 32;
    private const int MinHashBytes = 16;

    public static string Hash(string password, int iterations = DefaultIterations)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return $"{Scheme}${iterations.ToString(CultureInfo.InvariantCulture)}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    public static bool Verify(string password, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var iterations) || iterations < 1)
        {
            return false;
        }

        byte[] salt, expected;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            expected = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }

        // An empty (or truncated) stored hash would make any password "match": PBKDF2 of length 0 equals the empty array.
        if (expected.Length < MinHashBytes)
        {
            return false;
        }

        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }
}
