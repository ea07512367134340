using Rampart.Data;

namespace Rampart.Operations;

/// <summary>
/// Whether this instance should get traffic: the database answers a trivial query within a short timeout, its schema
/// is at the version this build expects, and the gateway is not shutting down. Works the same on SQLite and PostgreSQL
/// (plain <see cref="Db.OpenAsync"/> and a query both dialects share). Logs only when the answer changes.
/// </summary>
internal sealed partial class Readiness(Db db, IHostApplicationLifetime lifetime, ILogger<Readiness> logger)
{
    /// <summary>Long enough for a healthy database under load, short enough that a probe never piles up behind a dead one.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private int _lastReady = -1;

    public static long ExpectedSchemaVersion { get; } = Data.Migrations.Migrations.All.Max(m => (long)m.Version);

    public async Task<ReadinessReport> CheckAsync(CancellationToken cancellationToken)
    {
        var (report, failure) = await ProbeAsync(cancellationToken);
        var ready = report.Ready ? 1 : 0;
        if (Interlocked.Exchange(ref _lastReady, ready) != ready)
        {
            if (report.Ready)
            {
                LogReady(report.SchemaVersion ?? 0);
            }
            else
            {
                // Exception text can name hosts or files: it goes to the log, never into the unauthenticated answer.
                LogNotReady(failure, report.Reason!);
            }
        }

        return report;
    }

    private async Task<(ReadinessReport Report, Exception? Failure)> ProbeAsync(CancellationToken cancellationToken)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return (new ReadinessReport(false, "draining", null), null);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        long version;
        try
        {
            await using var connection = await db.OpenAsync(timeout.Token);
            try
            {
                version = await MigrationRunner.AppliedVersionAsync(connection, timeout.Token);
            }
            catch (Exception ex) when (!timeout.IsCancellationRequested)
            {
                // Reachable, but without a migrations table: nothing (or something else) is in this database.
                return (new ReadinessReport(false, "schema migrations not applied", null), ex);
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            return (new ReadinessReport(false, timeout.IsCancellationRequested ? "database timeout" : "database unreachable", null), ex);
        }

        return version == ExpectedSchemaVersion
            ? (new ReadinessReport(true, null, version), null)
            : (new ReadinessReport(false, "schema migrations not applied", version), null);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Ready: database reachable, schema at version {Version}")]
    private partial void LogReady(long version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not ready: {Reason}")]
    private partial void LogNotReady(Exception? exception, string reason);
}

internal sealed record ReadinessReport(bool Ready, string? Reason, long? SchemaVersion);
