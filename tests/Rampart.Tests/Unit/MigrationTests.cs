using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Data;
using Rampart.Data.Migrations;

namespace Rampart.Tests.Unit;

public sealed class MigrationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rampart-migrations-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task FreshDatabase_AppliesEveryMigrationOnce_AndRecordsVersions()
    {
        var db = Database();
        var runner = new MigrationRunner(db, NullLogger<MigrationRunner>.Instance);

        var first = await runner.ApplyAsync(Migrations.All, default);
        var second = await runner.ApplyAsync(Migrations.All, default);

        Assert.Equal(Migrations.All.Count, first);
        Assert.Equal(0, second);
        await using var connection = await db.OpenAsync();
        var versions = await connection.QueryAsync<long>("SELECT version FROM schema_migrations ORDER BY version");
        Assert.Equal(Migrations.All.Select(m => (long)m.Version), versions);
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT version FROM access_state WHERE id = 1"));
    }

    [Fact]
    public async Task FailingMigration_LeavesNoPartialSchema()
    {
        var db = Database();
        var runner = new MigrationRunner(db, NullLogger<MigrationRunner>.Instance);
        Migration broken = new(1, "broken", _ => ["CREATE TABLE half_done (id TEXT)", "THIS IS NOT SQL"]);

        await Assert.ThrowsAnyAsync<Exception>(() => runner.ApplyAsync([broken], default));

        await using var connection = await db.OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half_done'"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task DatabaseFromANewerRampart_IsRefusedWithAClearMessage()
    {
        var db = Database();
        var runner = new MigrationRunner(db, NullLogger<MigrationRunner>.Instance);
        await runner.ApplyAsync(Migrations.All, default);
        await using (var connection = await db.OpenAsync())
        {
            await connection.ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)");
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => runner.ApplyAsync(Migrations.All, default));

        Assert.Contains("newer than this build", error.Message);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder.
        }
    }

    private Db Database() => Db.FromConfiguration(new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { ["RAMPART_DATA_DIR"] = _dir }).Build());
}
