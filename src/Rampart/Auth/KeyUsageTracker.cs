using System.Collections.Concurrent;
using Rampart.Data;

namespace Rampart.Auth;

/// <summary>
/// Counts requests per key in memory and writes the sums in one transaction every few seconds and at shutdown,
/// so authentication never waits on a database write.
/// </summary>
internal sealed partial class KeyUsageTracker(AccessStore store, TimeProvider time, IConfiguration configuration, ILogger<KeyUsageTracker> logger)
    : BackgroundService
{
    private readonly ConcurrentDictionary<string, Counter> _pending = new(StringComparer.Ordinal);
    private readonly TimeSpan _flushInterval = TimeSpan.FromMilliseconds(configuration.GetValue("Rampart:KeyUsageFlushMilliseconds", 5000));

    public void Record(string keyId)
    {
        var counter = _pending.GetOrAdd(keyId, static _ => new Counter());
        Interlocked.Increment(ref counter.Count);
        Interlocked.Exchange(ref counter.LastUsedAt, time.GetUtcNow().ToUnixTimeMilliseconds());
    }

    /// <summary>Requests counted but not yet written, for views that want exact numbers.</summary>
    public long PendingCount(string keyId) => _pending.TryGetValue(keyId, out var c) ? Interlocked.Read(ref c.Count) : 0;

    /// <summary>The last use this process has seen (written or not), unix milliseconds; null when it has seen none.</summary>
    public long? LastSeenAt(string keyId) => _pending.TryGetValue(keyId, out var c) && Interlocked.Read(ref c.LastUsedAt) is > 0 and var at ? at : null;

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        // Counters stay in the map (one per key ever used) and are drained with an atomic exchange, so an
        // increment racing with a flush lands either in this batch or in the next one, never nowhere.
        var batch = new List<(string, long, long)>();
        foreach (var (keyId, counter) in _pending)
        {
            var count = Interlocked.Exchange(ref counter.Count, 0);
            if (count > 0)
            {
                batch.Add((keyId, count, Interlocked.Read(ref counter.LastUsedAt)));
            }
        }

        if (batch.Count == 0)
        {
            return;
        }

        try
        {
            await store.AddKeyUsageAsync(batch, cancellationToken);
        }
        catch (Exception ex)
        {
            // Put the counts back so the next flush carries them.
            foreach (var (keyId, count, _) in batch)
            {
                Interlocked.Add(ref _pending[keyId].Count, count);
            }

            LogFlushFailed(ex, batch.Count);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(CancellationToken.None);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_flushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: StopAsync writes what is left.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing key usage for {KeyCount} keys failed; will retry")]
    private partial void LogFlushFailed(Exception exception, int keyCount);

    private sealed class Counter
    {
        public long Count;
        public long LastUsedAt;
    }
}
