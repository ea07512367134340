using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Rampart.Data;

internal enum SqlDialect
{
    Sqlite,
    Postgres,
}

/// <summary>
/// Where Rampart's data lives: a SQLite file under <c>RAMPART_DATA_DIR</c> by default.
/// SQL is written in the subset SQLite and PostgreSQL share (TEXT ids, BIGINT unix-millisecond times,
/// <c>ON CONFLICT</c>, <c>RETURNING</c>) so one set of statements serves both.
/// </summary>
internal sealed class Db
{
    private readonly string _connectionString;

    public Db(SqlDialect dialect, string connectionString, string description)
    {
        Dialect = dialect;
        _connectionString = connectionString;
        Description = description;
    }

    public SqlDialect Dialect { get; }

    /// <summary>Where the data is, for start-up messages; never contains a password.</summary>
    public string Description { get; }

    public static Db FromConfiguration(IConfiguration configuration)
    {
        var dataDir = DataDirectory(configuration);
        Directory.CreateDirectory(dataDir);
        var path = Path.Combine(dataDir, "rampart.db");
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            Pooling = true,
            DefaultTimeout = 30,
        };
        return new Db(SqlDialect.Sqlite, builder.ToString(), path);
    }

    /// <summary>The same database with another wait for locks and slow statements, for writers that must fail fast rather than queue.</summary>
    public Db WithCommandTimeout(int seconds) =>
        new(Dialect, new SqliteConnectionStringBuilder(_connectionString) { DefaultTimeout = seconds }.ToString(), Description);

    public static string DataDirectory(IConfiguration configuration) =>
        Path.GetFullPath(configuration["RAMPART_DATA_DIR"] is { Length: > 0 } dir ? dir : "data");

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }
}
