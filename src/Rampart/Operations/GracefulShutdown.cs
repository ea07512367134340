using Microsoft.Extensions.Options;

namespace Rampart.Operations;

/// <summary>
/// How the gateway stops on SIGTERM (or Ctrl+C): <c>/readyz</c> answers 503 at once; after
/// <c>RAMPART_SHUTDOWN_DELAY_SECONDS</c> (default 0: time for a load balancer to see that) the listener closes;
/// requests and streams in flight get up to <c>RAMPART_DRAIN_SECONDS</c> (default 30) to finish; then the audit
/// writer writes everything queued. The ordering comes from the host: the web server is the last hosted service to
/// start, so it is the first to stop, and the audit writer stops after it.
/// </summary>
internal sealed partial class GracefulShutdown(IOptions<ShutdownOptions> options, ILogger<GracefulShutdown> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs before any hosted service stops, while the server still accepts requests; readiness already says "draining".</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        LogDraining(settings.Delay.TotalSeconds, settings.Drain.TotalSeconds);
        if (settings.Delay > TimeSpan.Zero)
        {
            await Task.Delay(settings.Delay, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Shutting down: not ready from now; the listener closes in {DelaySeconds} s, requests in flight get up to {DrainSeconds} s more, then the audit log is flushed")]
    private partial void LogDraining(double delaySeconds, double drainSeconds);
}

internal sealed class ShutdownOptions
{
    public const string DrainSetting = "RAMPART_DRAIN_SECONDS";
    public const string DelaySetting = "RAMPART_SHUTDOWN_DELAY_SECONDS";

    public TimeSpan Drain { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan Delay { get; set; }

    public static ShutdownOptions From(IConfiguration configuration) => new()
    {
        Drain = TimeSpan.FromSeconds(Seconds(configuration, DrainSetting, 30)),
        Delay = TimeSpan.FromSeconds(Seconds(configuration, DelaySetting, 0)),
    };

    private static double Seconds(IConfiguration configuration, string key, double fallback)
    {
        var text = configuration[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0 and <= 3600
            ? seconds
            : throw new InvalidOperationException($"{key} must be a number of seconds between 0 and 3600 (got '{text}').");
    }
}
