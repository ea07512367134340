using Npgsql;
using Rampart.Data;

namespace Rampart.Auth;

/// <summary>
/// On PostgreSQL, makes another instance's access change (a revoked key, a new policy, a membership) apply here within
/// milliseconds: every write <c>NOTIFY</c>s <see cref="Channel"/> in its own transaction, and this service holds one
/// dedicated connection that <c>LISTEN</c>s and refreshes the snapshot on each notification. When that connection drops it
/// reconnects with backoff and catches up at once; meanwhile the <see cref="AccessCache"/>'s periodic version check still
/// runs. On SQLite there is nothing to listen to, and the version check alone serves.
/// </summary>
internal sealed partial class AccessChangeListener(Db db, AccessCache cache, ILogger<AccessChangeListener> logger) : BackgroundService
{
    public const string Channel = "rampart_access";

    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestRetry = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (db.Dialect != SqlDialect.Postgres)
        {
            return;
        }

        var retry = FirstRetry;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(() => retry = FirstRetry, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogListenFailed(ex, (long)retry.TotalMilliseconds);
                try
                {
                    // Jitter, so instances cut off together do not all come back in the same instant.
                    await Task.Delay(retry + TimeSpan.FromMilliseconds(Random.Shared.Next(0, (int)(retry.TotalMilliseconds / 2) + 1)), stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, LongestRetry.Ticks));
            }
        }
    }

    private async Task ListenAsync(Action connected, CancellationToken stoppingToken)
    {
        await using var connection = await db.OpenDedicatedAsync(keepAliveSeconds: 5, stoppingToken);
        await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
        {
            await listen.ExecuteNonQueryAsync(stoppingToken);
        }

        connected();
        LogListening();
        // Whatever changed while this instance was not listening.
        await cache.RefreshAsync(force: false, stoppingToken);
        while (true)
        {
            // Returns once a notification (or another message from the server) has arrived; several changes committed
            // meanwhile are all covered by one refresh, which loads the newest snapshot.
            await connection.WaitAsync(stoppingToken);
            await cache.RefreshAsync(force: false, stoppingToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening for access changes from other instances")]
    private partial void LogListening();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for access changes failed; retrying in {RetryMilliseconds} ms (the periodic check still runs)")]
    private partial void LogListenFailed(Exception exception, long retryMilliseconds);
}
