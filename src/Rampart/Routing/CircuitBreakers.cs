using System.Collections.Concurrent;
using Polly;
using Polly.CircuitBreaker;
using Rampart.Providers;

namespace Rampart.Routing;

/// <summary>
/// One Polly circuit breaker per target (<c>provider/model</c>), shared by every workspace: when a target keeps
/// failing, requests skip it (to their fallbacks) until the break is over, then one request probes it again.
/// Only the provider's own failures count (5xx, timeouts, broken connections), never a caller's bad request.
/// </summary>
internal sealed class CircuitBreakers(IConfiguration configuration, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, ResiliencePipeline> _pipelines = new(StringComparer.Ordinal);

    private readonly CircuitBreakerStrategyOptions _options = new()
    {
        FailureRatio = configuration.GetValue("Rampart:CircuitBreaker:FailureRatio", 0.5),
        MinimumThroughput = configuration.GetValue("Rampart:CircuitBreaker:MinimumThroughput", 4),
        SamplingDuration = TimeSpan.FromSeconds(configuration.GetValue("Rampart:CircuitBreaker:SamplingSeconds", 30.0)),
        BreakDuration = TimeSpan.FromSeconds(configuration.GetValue("Rampart:CircuitBreaker:BreakSeconds", 30.0)),
        ShouldHandle = static args => ValueTask.FromResult(
            args.Outcome.Exception is not null and not OperationCanceledException
            || args.Outcome.Result is IUpstreamOutcome { Error.Kind: UpstreamErrorKind.Failed or UpstreamErrorKind.TimedOut }),
    };

    /// <summary>Runs <paramref name="call"/> through the target's breaker; an open breaker answers with an error value instead.</summary>
    public async Task<ProviderResult<T>> ExecuteAsync<T>(RouteTarget target, Func<CancellationToken, Task<ProviderResult<T>>> call, CancellationToken cancellationToken)
    {
        var pipeline = _pipelines.GetOrAdd(target.ToString(), _ => new ResiliencePipelineBuilder { TimeProvider = time }.AddCircuitBreaker(_options).Build());
        try
        {
            return await pipeline.ExecuteAsync(static async (state, ct) => await state(ct), call, cancellationToken);
        }
        catch (BrokenCircuitException)
        {
            return new UpstreamError(UpstreamErrorKind.Failed, target.Provider,
                $"Provider target '{target}' is failing repeatedly and is paused for a while (circuit open).");
        }
    }
}
