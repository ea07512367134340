using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Data;
using Rampart.Data.Migrations;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Unit;

/// <summary>The migration runner on both engines, whatever database the rest of the run uses; each test has a fresh database.</summary>
public sealed class MigrationTests : IAsyncLifetime
{
    private static readonly string[] Tables =
        ["users", "workspaces", "memberships", "api_keys", "access_state", "provider_credentials", "audit_records", "usage_daily", "data_protection_keys",
         "limit_buckets", "limit_spend", "sign_in_failures"];

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rampart-migrations-" + Guid.NewGuid().ToString("N"));
    private readonly string _postgresDatabase = "rampart_t_" + Guid.NewGuid().ToString("N")[..16];
    private Db? _db;

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task FreshDatabase_AppliesEveryMigrationOnce_AndRecordsVersions(string engine)
    {
        var db = await DatabaseAsync(engine);
        var runner = new MigrationRunner(db, NullLogger<MigrationRunner>.Instance);

        var first = await runner.ApplyAsync(Migrations.All, default);
        var second = await runner.ApplyAsync(Migrations.All, default);

        Assert.Equal(Migrations.All.Count, first);
        Assert.Equal(0, second);
        await using var connection = await db.OpenAsync();
        var versions = await connection.QueryAsync<long>("SELECT version FROM schema_migrations ORDER BY version");
        Assert.Equal(Migrations.All.Select(m => (long)m.Version), versions);
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT version FROM access_state WHERE id = 1"));
        foreach (var table in Tables)
        {
            Assert.Equal(1, await connection.ExecuteScalarAsync<long>(TableCount(db), new { Name = table }));
        }
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task FailingMigration_LeavesNoPartialSchema(string engine)
    {
        var db = await DatabaseAsync(engine);
        var runner = new MigrationRunner(db, NullLogger<MigrationRunner>.Instance);
        Migration broken = new(1, "broken", _ => ["CREATE TABLE half_done (id TEXT)", "THIS IS NOT SQL"]);

        await Assert.ThrowsAnyAsync<Exception>(() => runner.ApplyAsync([broken], default));

        await using var connection = await db.OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>(TableCount(db), new { Name = "half_done" }));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations"));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task DatabaseFromANewerRampart_IsRefusedWithAClearMessage(string engine)
    {
        var db = await DatabaseAsync(engine);
        var runner = new MigrationRunner(db, NullLogger<MigrationRunner>.Instance);
        await runner.ApplyAsync(Migrations.All, default);
        await using (var connection = await db.OpenAsync())
        {
            await connection.ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)");
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => runner.ApplyAsync(Migrations.All, default));

        Assert.Contains("newer than this build", error.Message);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_db is not null)
        {
            await _db.DisposeAsync();
            if (_db.Dialect == SqlDialect.Postgres)
            {
                await (await PostgresServer.SharedAsync()).DropDatabaseAsync(_postgresDatabase);
            }
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder (never created in the PostgreSQL case).
        }
    }

    private static string TableCount(Db db) => db.Dialect == SqlDialect.Sqlite
        ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = @Name"
        : "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = @Name";

    private async Task<Db> DatabaseAsync(string engine)
    {
        _db = engine == "postgres"
            ? Db.Postgres(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync(_postgresDatabase))
            : Db.Sqlite(_dir);
        return _db;
    }
}
