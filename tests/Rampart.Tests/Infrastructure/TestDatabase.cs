using System.Security.Cryptography;
using System.Text;

namespace Rampart.Tests.Infrastructure;

/// <summary>
/// Which database the gateways under test use: SQLite in their data folder, or with <c>RAMPART_TEST_DB=postgres</c> a fresh
/// database of their own on the shared <see cref="PostgresServer"/>. The database belongs to the data folder (its name is
/// derived from the folder's path), so two gateways started one after the other on one folder share it, as they would share
/// the SQLite file.
/// </summary>
internal static class TestDatabase
{
    public const string Variable = "RAMPART_TEST_DB";

    public static bool UsePostgres => string.Equals(Environment.GetEnvironmentVariable(Variable), "postgres", StringComparison.OrdinalIgnoreCase);

    /// <summary>The connection string for <paramref name="dataDir"/>'s PostgreSQL database, created when missing.</summary>
    public static async Task<string> PostgresFor(string dataDir) => await (await PostgresServer.SharedAsync()).CreateDatabaseAsync(NameFor(dataDir));

    /// <summary>Drops <paramref name="dataDir"/>'s PostgreSQL database, when the tests run on PostgreSQL.</summary>
    public static async Task DropAsync(string dataDir)
    {
        if (UsePostgres)
        {
            await (await PostgresServer.SharedAsync()).DropDatabaseAsync(NameFor(dataDir));
        }
    }

    /// <summary>A database name unique to a path: lower-case hex, well inside PostgreSQL's 63-character limit.</summary>
    public static string NameFor(string dataDir) =>
        "rampart_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(dataDir))))[..24];
}

/// <summary>A test that shows SQLite's own behaviour (its file, its locks); the PostgreSQL pass skips it, naming why.</summary>
public sealed class SqliteOnlyFactAttribute : FactAttribute
{
    public SqliteOnlyFactAttribute(string reason)
    {
        if (TestDatabase.UsePostgres)
        {
            Skip = $"SQLite only: {reason}";
        }
    }
}
