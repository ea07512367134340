using System.Data.Common;
using Dapper;
using Rampart.Data.Migrations;

namespace Rampart.Data;

/// <summary>
/// Applies pending <see cref="Migration"/>s in version order, each in its own transaction together with
/// its row in <c>schema_migrations</c>, so a crash leaves the schema at a whole version.
/// </summary>
internal sealed partial class MigrationRunner(Db db, ILogger<MigrationRunner> logger)
{
    /// <summary>The advisory-lock key migrations serialise on (PostgreSQL); any constant other code does not use.</summary>
    private const long MigrationLockKey = 72710;

    public async Task<int> ApplyAsync(IReadOnlyList<Migration> migrations, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        if (db.Dialect == SqlDialect.Sqlite)
        {
            // WAL lets readers (the API) proceed while the background writers commit.
            await connection.ExecuteAsync("PRAGMA journal_mode=WAL");
        }

        // Under the lock too: PostgreSQL's IF NOT EXISTS is not safe against a second instance creating the table at the same moment.
        await using (var transaction = await BeginExclusiveAsync(connection, cancellationToken))
        {
            await connection.ExecuteAsync(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                transaction: transaction);
            await transaction.CommitAsync(cancellationToken);
        }

        var applied = 0;
        foreach (var migration in migrations.OrderBy(m => m.Version))
        {
            if (await ApplyOneAsync(connection, migration, cancellationToken))
            {
                applied++;
            }
        }

        var latest = migrations.Count == 0 ? 0 : migrations.Max(m => m.Version);
        var current = await AppliedVersionAsync(connection, cancellationToken);
        if (current > latest)
        {
            throw new InvalidOperationException(
                $"The database schema is at version {current}, newer than this build of Rampart knows ({latest}). Run a newer Rampart or restore a matching backup.");
        }

        return applied;
    }

    /// <summary>The newest schema version applied to the database; 0 for none. Fails when there is no migrations table yet.</summary>
    public static async Task<long> AppliedVersionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.QueryUnbufferedAsync<long?>("SELECT MAX(version) FROM schema_migrations").FirstAsync(cancellationToken) ?? 0;

    private async Task<bool> ApplyOneAsync(DbConnection connection, Migration migration, CancellationToken cancellationToken)
    {
        await using var transaction = await BeginExclusiveAsync(connection, cancellationToken);
        var done = await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM schema_migrations WHERE version = @Version", new { migration.Version }, transaction);
        if (done > 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return false;
        }

        foreach (var statement in migration.Statements(db.Dialect))
        {
            await connection.ExecuteAsync(statement, cancellationToken, transaction);
        }

        await connection.ExecuteAsync(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@Version, @Name, @Now)",
            new { migration.Version, migration.Name, Now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() },
            transaction);
        await transaction.CommitAsync(cancellationToken);
        LogApplied(migration.Version, migration.Name);
        return true;
    }

    /// <summary>A transaction that holds the write lock from its first statement, so two processes never apply the same step.</summary>
    private async Task<DbTransaction> BeginExclusiveAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        if (db.Dialect == SqlDialect.Sqlite)
        {
            // Microsoft.Data.Sqlite starts a deferred transaction unless asked; BEGIN IMMEDIATE takes the write lock now.
            return ((Microsoft.Data.Sqlite.SqliteConnection)connection).BeginTransaction(deferred: false);
        }

        // PostgreSQL: a transaction-scoped advisory lock (released at commit or rollback) that every Rampart instance
        // on this database takes before it looks at schema_migrations.
        var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(@Key)", new { Key = MigrationLockKey }, transaction);
        return transaction;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied schema migration {Version} ({Name})")]
    private partial void LogApplied(int version, string name);
}
