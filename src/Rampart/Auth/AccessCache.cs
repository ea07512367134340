using Rampart.Data;

namespace Rampart.Auth;

/// <summary>
/// Holds the current <see cref="AccessSnapshot"/>. Changes made by this process apply before the write returns;
/// changes made elsewhere (the CLI, another instance) are noticed by polling one integer, the access-state version.
/// </summary>
internal sealed partial class AccessCache : BackgroundService
{
    private readonly AccessStore _store;
    private readonly TimeSpan _pollInterval;
    private readonly ILogger<AccessCache> _logger;
    private readonly SemaphoreSlim _refreshLock = new(1, 1);
    private const long CatchUpSpacingMilliseconds = 200;
    private volatile AccessSnapshot _current = AccessSnapshot.Empty;
    private long _lastCatchUp = -CatchUpSpacingMilliseconds;

    public AccessCache(AccessStore store, AccessChangeSignal signal, IConfiguration configuration, ILogger<AccessCache> logger)
    {
        _store = store;
        _logger = logger;
        _pollInterval = TimeSpan.FromMilliseconds(configuration.GetValue("Rampart:AccessPollMilliseconds", 500));
        signal.OnChanged = ct => RefreshAsync(force: true, ct);
    }

    public AccessSnapshot Current => _current;

    /// <summary>Loads a new snapshot if the stored version moved (or always, when <paramref name="force"/>).</summary>
    public async Task RefreshAsync(bool force, CancellationToken cancellationToken)
    {
        await _refreshLock.WaitAsync(cancellationToken);
        try
        {
            if (!force && await _store.GetVersionAsync(cancellationToken) == _current.Version)
            {
                return;
            }

            _current = await _store.LoadSnapshotAsync(cancellationToken);
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    /// <summary>
    /// Called when a well-formed key is not in the snapshot: checks, at most a few times a second in all,
    /// whether another process changed the access data. Returns true when a newer snapshot was loaded.
    /// </summary>
    public async Task<bool> CatchUpAsync(CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastCatchUp);
        if (now - last < CatchUpSpacingMilliseconds || Interlocked.CompareExchange(ref _lastCatchUp, now, last) != last)
        {
            return false;
        }

        var before = _current.Version;
        try
        {
            await RefreshAsync(force: false, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRefreshFailed(ex);
            return false;
        }

        return _current.Version != before;
    }

    public override void Dispose()
    {
        _refreshLock.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_pollInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RefreshAsync(force: false, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Keep serving from the last good snapshot; the next tick retries.
                LogRefreshFailed(ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing the access snapshot failed; serving the previous one")]
    private partial void LogRefreshFailed(Exception exception);
}
