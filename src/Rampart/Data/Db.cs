using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Rampart.Data;

internal enum SqlDialect
{
    Sqlite,
    Postgres,
}

/// <summary>
/// Where Rampart's data lives: a SQLite file under <c>RAMPART_DATA_DIR</c> by default, or the PostgreSQL database named by
/// <c>RAMPART_POSTGRES</c> (pooled through one <see cref="NpgsqlDataSource"/>). SQL is written in the subset SQLite and
/// PostgreSQL share (TEXT ids, BIGINT unix-millisecond times, <c>ON CONFLICT</c>, <c>RETURNING</c>) so one set of
/// statements serves both; the few that differ say so next to each other.
/// </summary>
internal sealed class Db : IAsyncDisposable, IDisposable
{
    public const string PostgresSetting = "RAMPART_POSTGRES";

    private readonly string? _sqliteConnectionString;
    private readonly NpgsqlDataSource? _postgres;
    private readonly string? _postgresConnectionString;
    private readonly List<Db> _derived = [];

    private Db(string sqliteConnectionString, string description)
    {
        Dialect = SqlDialect.Sqlite;
        _sqliteConnectionString = sqliteConnectionString;
        Description = description;
    }

    private Db(string postgresConnectionString, NpgsqlDataSource postgres, string description)
    {
        Dialect = SqlDialect.Postgres;
        _postgresConnectionString = postgresConnectionString;
        _postgres = postgres;
        Description = description;
    }

    public SqlDialect Dialect { get; }

    /// <summary>Where the data is, for start-up messages; never contains a password.</summary>
    public string Description { get; }

    public static Db FromConfiguration(IConfiguration configuration) =>
        configuration[PostgresSetting] is { Length: > 0 } postgres ? Postgres(postgres) : Sqlite(DataDirectory(configuration));

    public static Db Sqlite(string dataDir)
    {
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
        return new Db(builder.ToString(), path);
    }

    /// <summary>A PostgreSQL database from an Npgsql connection string or a <c>postgres://user:password@host:port/database?sslmode=…</c> URL.</summary>
    public static Db Postgres(string connectionStringOrUrl, int? commandTimeoutSeconds = null)
    {
        var builder = PostgresConnectionString.Parse(connectionStringOrUrl);
        if (commandTimeoutSeconds is { } seconds)
        {
            builder.CommandTimeout = seconds;
            builder.Timeout = seconds;
        }

        var description = $"{builder.Host}:{builder.Port}/{builder.Database}";
        return new Db(builder.ConnectionString, new NpgsqlDataSourceBuilder(builder.ConnectionString).Build(), description);
    }

    /// <summary>
    /// The same database with another wait for locks, slow statements and (on PostgreSQL) connecting, for writers that must
    /// fail fast rather than queue. Disposed together with this one.
    /// </summary>
    public Db WithCommandTimeout(int seconds)
    {
        Db derived = Dialect == SqlDialect.Sqlite
            ? new(new SqliteConnectionStringBuilder(_sqliteConnectionString) { DefaultTimeout = seconds }.ToString(), Description)
            : Postgres(_postgresConnectionString!, seconds);
        lock (_derived)
        {
            _derived.Add(derived);
        }

        return derived;
    }

    public static string DataDirectory(IConfiguration configuration) =>
        Path.GetFullPath(configuration["RAMPART_DATA_DIR"] is { Length: > 0 } dir ? dir : "data");

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        if (_postgres is not null)
        {
            return await _postgres.OpenConnectionAsync(cancellationToken);
        }

        var connection = new SqliteConnection(_sqliteConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    /// <summary>
    /// A PostgreSQL connection outside the pool, for a caller that holds it for good (a <c>LISTEN</c>er): it sends a
    /// keep-alive every few seconds, so a server that went away is noticed even while nothing else is said.
    /// </summary>
    public async Task<NpgsqlConnection> OpenDedicatedAsync(int keepAliveSeconds, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(_postgresConnectionString ?? throw new InvalidOperationException("Only PostgreSQL has dedicated connections."))
        {
            Pooling = false,
            KeepAlive = keepAliveSeconds,
        };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>For the few callers that cannot be asynchronous (Data Protection's key repository).</summary>
    public DbConnection Open()
    {
        if (_postgres is not null)
        {
            return _postgres.OpenConnection();
        }

        var connection = new SqliteConnection(_sqliteConnectionString);
        connection.Open();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var derived in TakeDerived())
        {
            await derived.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    public void Dispose()
    {
        foreach (var derived in TakeDerived())
        {
            derived.Dispose();
        }

        _postgres?.Dispose();
    }

    private List<Db> TakeDerived()
    {
        lock (_derived)
        {
            var all = _derived.ToList();
            _derived.Clear();
            return all;
        }
    }
}

/// <summary>Reads <c>RAMPART_POSTGRES</c>: an Npgsql connection string, or the URL form most hosting providers hand out.</summary>
internal static class PostgresConnectionString
{
    public static NpgsqlConnectionStringBuilder Parse(string text)
    {
        text = text.Trim();
        if (!text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) && !text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return new NpgsqlConnectionStringBuilder(text);
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            // The text may hold a password: the message does not repeat it.
            throw new InvalidOperationException($"{Db.PostgresSetting} is not a valid postgres:// URL (expected postgres://user:password@host:port/database).");
        }

        var builder = new NpgsqlConnectionStringBuilder { Host = uri.Host, Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port };
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            var value = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..]);
            try
            {
                // libpq's names (sslmode, application_name, connect_timeout …) where Npgsql knows them under another.
                builder[LibpqKeywords.GetValueOrDefault(key, key)] = value;
            }
            catch (ArgumentException)
            {
                throw new InvalidOperationException($"{Db.PostgresSetting}: unknown URL parameter '{key}'.");
            }
        }

        return builder;
    }

    private static readonly Dictionary<string, string> LibpqKeywords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sslmode"] = "SSL Mode",
        ["sslrootcert"] = "Root Certificate",
        ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key",
        ["application_name"] = "Application Name",
        ["connect_timeout"] = "Timeout",
        ["target_session_attrs"] = "Target Session Attributes",
        ["options"] = "Options",
    };
}
