namespace Rampart.Hosting;

/// <summary>
/// A start-up allowance of thread-pool threads. A just-started process that takes traffic at once runs unoptimised code
/// with empty connection pools; on one CPU, with the pool's usual minimum of one worker thread per CPU, it falls behind
/// by seconds and the backlog feeds itself: measured at 1,000 requests/s from the first second, p90 3.9–9.8 s and
/// 345–513 MB afterwards, against 4–6 ms and 176–198 MB with this allowance (docs/benchmarks.md, "Cold start and the
/// warm-up"). Kept for good, the extra threads cost CPU at saturation (111 → 185 µs per small chat, measured), so the
/// minimum is raised to <c>Rampart:StartupThreads:Minimum</c> (8) for the first <c>Rampart:StartupThreads:Seconds</c>
/// (30) and then put back; 0 seconds turns it off. A machine with that many CPUs already has that many threads.
/// </summary>
/// <remarks>
/// The minimum is the process's, so gateways started side by side in one process (tests) share one allowance: it ends
/// when the last of them ends, and the minimum goes back to what it was before the first.
/// </remarks>
internal sealed partial class StartupThreads(IConfiguration configuration, ILogger<StartupThreads> logger) : IHostedService, IDisposable
{
    private static readonly Lock Gate = new();
    private static int _holders;
    private static (int Workers, int Io) _before;

    private Timer? _end;
    private int _holding;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var minimum = configuration.GetValue("Rampart:StartupThreads:Minimum", 8);
        var seconds = configuration.GetValue("Rampart:StartupThreads:Seconds", 30);
        if (minimum is < 1 or > 1024 || seconds is < 0 or > 3600)
        {
            throw new InvalidOperationException(
                $"Rampart:StartupThreads:Minimum must be 1-1024 threads and Rampart:StartupThreads:Seconds 0-3600; they are {minimum} and {seconds}.");
        }

        if (seconds == 0)
        {
            return Task.CompletedTask;
        }

        lock (Gate)
        {
            if (_holders == 0)
            {
                ThreadPool.GetMinThreads(out var workers, out var io);
                _before = (workers, io);
            }

            if (minimum <= _before.Workers || !ThreadPool.SetMinThreads(Math.Max(minimum, CurrentMinimumWorkers()), _before.Io))
            {
                return Task.CompletedTask;
            }

            _holders++;
            _holding = 1;
        }

        _end = new Timer(_ => End(), null, TimeSpan.FromSeconds(seconds), Timeout.InfiniteTimeSpan);
        LogRaised(logger, minimum, seconds);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        End();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        End();
        _end?.Dispose();
    }

    private void End()
    {
        if (Interlocked.Exchange(ref _holding, 0) == 0)
        {
            return;
        }

        lock (Gate)
        {
            if (--_holders == 0)
            {
                ThreadPool.SetMinThreads(_before.Workers, _before.Io);
                LogRestored(logger, _before.Workers);
            }
        }
    }

    private static int CurrentMinimumWorkers()
    {
        ThreadPool.GetMinThreads(out var workers, out _);
        return workers;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Thread pool: at least {Threads} worker threads for the first {Seconds} s")]
    private static partial void LogRaised(ILogger logger, int threads, int seconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Thread pool: minimum back to {Threads} worker threads")]
    private static partial void LogRestored(ILogger logger, int threads);
}
