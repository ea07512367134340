using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Rampart.Audit;

/// <summary>
/// Takes audit records off the request path and writes them in batches: one transaction per batch, at most every
/// <c>Rampart:Audit:FlushIntervalMilliseconds</c> while fewer than <c>Rampart:Audit:BatchSize</c> records wait, and at
/// once, with everything waiting (up to <c>Rampart:Audit:MaxBatchSize</c>), when more do.
/// A batch the database refuses goes to the <see cref="AuditSpool"/> and is replayed once a write succeeds again;
/// a record that finds the queue full is spooled at once, and forced to disk by the writer's next round. Stopping
/// drains the queue, so nothing is left in memory.
/// </summary>
internal sealed partial class AuditWriter : BackgroundService
{
    private readonly AuditStore _store;
    private readonly AuditSpool _spool;
    private readonly ILogger<AuditWriter> _logger;
    private readonly Channel<AuditRecord> _queue;
    private readonly ConcurrentQueue<AuditRecord> _unsaved = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly int _batchSize;
    private readonly int _maxBatchSize;
    private readonly TimeSpan _interval;
    private int _spooledWhileFull;
    private long _spooled;

    public AuditWriter(AuditStore store, AuditSpool spool, IConfiguration configuration, ILogger<AuditWriter> logger)
    {
        _store = store;
        _spool = spool;
        _logger = logger;
        _batchSize = Math.Max(1, configuration.GetValue("Rampart:Audit:BatchSize", 100));
        // Under saturation a backlog goes in larger transactions: one commit (and its disk flush) per 100 records
        // cannot keep up with ten thousand requests a second, and a full queue sends records the slower way, to the spool.
        _maxBatchSize = Math.Max(_batchSize, configuration.GetValue("Rampart:Audit:MaxBatchSize", 2_000));
        _interval = TimeSpan.FromMilliseconds(configuration.GetValue("Rampart:Audit:FlushIntervalMilliseconds", 100));
        _queue = Channel.CreateBounded<AuditRecord>(new BoundedChannelOptions(Math.Max(1, configuration.GetValue("Rampart:Audit:QueueCapacity", 10_000)))
        {
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Records waiting in memory for the next batch.</summary>
    public int QueueDepth => _queue.Reader.Count + _unsaved.Count;

    /// <summary>Records written to the disk spool since start (because the database refused them or the queue was full).</summary>
    public long SpooledRecords => Interlocked.Read(ref _spooled);

    /// <summary>Never blocks the request for long: a full queue (or a stopped writer) sends the record straight to the spool.</summary>
    public void Enqueue(AuditRecord record)
    {
        if (_queue.Writer.TryWrite(record))
        {
            return;
        }

        Interlocked.Increment(ref _spooledWhileFull);
        SpoolOrKeep([record], flushToDisk: false);
    }

    /// <summary>Writes everything queued so far, then replays the spool if the database takes writes again.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var healthy = true;
            while (TakeBatch() is { Count: > 0 } batch)
            {
                healthy &= await WriteOrSpoolAsync(batch);
            }

            if (healthy)
            {
                await ReplayAsync();
            }

            SyncSpool();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Forces to disk what requests spooled when they found the queue full (they do not wait for the disk themselves).</summary>
    private void SyncSpool()
    {
        try
        {
            _spool.SyncToDisk();
        }
        catch (Exception ex)
        {
            LogSpoolSyncFailed(ex);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // From here on Enqueue spools directly; whatever is queued is written (or spooled) now.
        _queue.Writer.TryComplete();
        await FlushAsync(CancellationToken.None);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (!_spool.HasPending && _unsaved.IsEmpty && !await _queue.Reader.WaitToReadAsync(stoppingToken))
                {
                    return;
                }

                // Light traffic: wait a moment so one transaction carries many records. A full batch goes at once.
                if (_queue.Reader.Count < _batchSize)
                {
                    await Task.Delay(_interval, stoppingToken);
                }

                await WriteOneBatchAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: StopAsync writes what is left.
        }
    }

    private async Task WriteOneBatchAsync()
    {
        await _writeLock.WaitAsync(CancellationToken.None);
        try
        {
            var batch = TakeBatch();
            if ((batch.Count == 0 || await WriteOrSpoolAsync(batch)) && _spool.HasPending)
            {
                await ReplayAsync();
            }

            // Whatever requests spooled without waiting for the disk, up to now (nothing to do when they spooled nothing).
            SyncSpool();
            if (Interlocked.Exchange(ref _spooledWhileFull, 0) is > 0 and var spooled)
            {
                LogSpooledWhileFull(spooled);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private List<AuditRecord> TakeBatch()
    {
        var batch = new List<AuditRecord>(Math.Min(_maxBatchSize, Math.Max(64, _queue.Reader.Count)));
        while (batch.Count < _maxBatchSize && _unsaved.TryDequeue(out var kept))
        {
            batch.Add(kept);
        }

        while (batch.Count < _maxBatchSize && _queue.Reader.TryRead(out var record))
        {
            batch.Add(record);
        }

        return batch;
    }

    /// <summary>True when the database took the batch. Database writes are not cancelled: a batch under way finishes even at shutdown.</summary>
    private async Task<bool> WriteOrSpoolAsync(List<AuditRecord> batch)
    {
        try
        {
            await _store.WriteAsync(batch, CancellationToken.None);
            return true;
        }
        catch (Exception ex)
        {
            LogWriteFailed(ex, batch.Count);
            SpoolOrKeep(batch);
            return false;
        }
    }

    private void SpoolOrKeep(List<AuditRecord> records, bool flushToDisk = true)
    {
        try
        {
            _spool.Append(records, flushToDisk);
            Interlocked.Add(ref _spooled, records.Count);
        }
        catch (Exception ex)
        {
            // Neither the database nor the disk: keep them in memory for the next round rather than lose them.
            LogSpoolFailed(ex, records.Count);
            foreach (var record in records)
            {
                _unsaved.Enqueue(record);
            }
        }
    }

    /// <summary>Writes spooled records back in batches (duplicates of stored ones are skipped), deleting each file once it is all in.</summary>
    private async Task ReplayAsync()
    {
        if (!_spool.HasPending)
        {
            return;
        }

        IReadOnlyList<string> files;
        try
        {
            files = _spool.TakeForReplay();
        }
        catch (IOException ex)
        {
            LogReplayFailed(ex, 0);
            return;
        }

        foreach (var file in files)
        {
            var replayed = 0;
            var unreadable = 0;
            try
            {
                var batch = new List<AuditRecord>(_batchSize);
                foreach (var record in AuditSpool.Read(file, () => unreadable++))
                {
                    batch.Add(record);
                    if (batch.Count == _batchSize)
                    {
                        replayed += await _store.WriteAsync(batch, CancellationToken.None);
                        batch.Clear();
                    }
                }

                if (batch.Count > 0)
                {
                    replayed += await _store.WriteAsync(batch, CancellationToken.None);
                }

                _spool.Replayed(file);
                LogReplayed(replayed, unreadable);
            }
            catch (Exception ex)
            {
                // The file stays; the next replay starts it again and skips what is already stored.
                LogReplayFailed(ex, replayed);
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing {Count} audit records failed; they are spooled to disk and will be replayed")]
    private partial void LogWriteFailed(Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Spooling {Count} audit records failed; they are kept in memory and retried")]
    private partial void LogSpoolFailed(Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Forcing the audit spool to disk failed; its records are written but may not survive a power loss")]
    private partial void LogSpoolSyncFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} audit records found the queue full and were spooled to disk")]
    private partial void LogSpooledWhileFull(int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replayed the audit spool: {Count} records stored, {Unreadable} unreadable lines skipped")]
    private partial void LogReplayed(int count, int unreadable);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replaying the audit spool failed after {Count} records; will retry")]
    private partial void LogReplayFailed(Exception exception, int count);
}
