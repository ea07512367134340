using Rampart.OpenAI;
using Rampart.Operations;
using Rampart.Providers;

namespace Rampart.Routing;

/// <summary>Who answered a routed call, and after how many tries.</summary>
internal sealed record ServedBy(RouteTarget Target, IChatProvider Provider, string? StandsInFor, int Attempts);

internal readonly record struct Routed<T>(T? Value, UpstreamError? Error, ServedBy? ServedBy)
{
    /// <summary>Provider calls made in all, across retries and fallbacks.</summary>
    public int Attempts { get; init; }
}

/// <summary>
/// Sends a request to the first target that answers: each target in order (the workspace's model, then its
/// fallbacks), each through its circuit breaker, with retries and backoff for retryable failures — honouring a
/// provider's <c>Retry-After</c>. A stream is retried only while opening; once its first byte has gone to the
/// caller it is never re-sent. A caller's own bad request (4xx other than 429) is returned at once.
/// </summary>
internal sealed partial class Router(ProviderCatalog providers, CircuitBreakers breakers, GatewayMetrics metrics, IConfiguration configuration, ILogger<Router> logger)
{
    private readonly TimeSpan _backoff = TimeSpan.FromMilliseconds(configuration.GetValue("Rampart:Routing:BackoffMilliseconds", 250.0));
    private readonly int _defaultRetries = configuration.GetValue("Rampart:Routing:Retries", 2);
    private readonly TimeSpan _maxRetryAfter = TimeSpan.FromSeconds(configuration.GetValue("Rampart:Routing:MaxRetryAfterSeconds", 20.0));

    /// <param name="credentialFor">The workspace's own credential for a provider, if it has one.</param>
    public Task<Routed<ChatCompletion>> CompleteAsync(IReadOnlyList<RouteTarget> targets, RoutingPolicy policy, Func<string, ProviderCredential?> credentialFor,
        ChatCompletionRequest request, CancellationToken cancellationToken) =>
        RouteAsync(targets, policy, credentialFor, request, static (provider, r, ct) => provider.CompleteAsync(r, ct), streaming: false, cancellationToken);

    public Task<Routed<IAsyncEnumerable<ChatCompletionChunk>>> StreamAsync(IReadOnlyList<RouteTarget> targets, RoutingPolicy policy, Func<string, ProviderCredential?> credentialFor,
        ChatCompletionRequest request, CancellationToken cancellationToken) =>
        RouteAsync(targets, policy, credentialFor, request, static (provider, r, ct) => provider.StreamAsync(r, ct), streaming: true, cancellationToken);

    private async Task<Routed<T>> RouteAsync<T>(
        IReadOnlyList<RouteTarget> targets, RoutingPolicy policy, Func<string, ProviderCredential?> credentialFor, ChatCompletionRequest request,
        Func<IChatProvider, ChatCompletionRequest, CancellationToken, Task<ProviderResult<T>>> call, bool streaming, CancellationToken cancellationToken)
    {
        var candidates = Candidates(targets, credentialFor);
        UpstreamError? lastError = null;
        var calls = 0;
        foreach (var (target, choice) in candidates)
        {
            if (choice.Provider is not { } provider)
            {
                lastError = choice.Error;
                continue;
            }

            var model = choice.StandsInFor is null ? target.Model : Providers.Demo.DemoProvider.ModelName;
            var upstream = request.Model == model ? request : request with { Model = model };
            var breaker = breakers.For(target);
            for (var attempt = 0; ; attempt++)
            {
                if (!breaker.TryEnter(out var probe))
                {
                    // Skipped while its breaker is open: no call, so nothing to retry; the next target is tried at once.
                    lastError = CircuitBreakers.Refusal(target);
                    break;
                }

                calls++;
                var result = await MeasuredCallAsync(breaker, probe, provider, upstream, call, policy, streaming, metrics, cancellationToken);
                if (result.Error is not { } error)
                {
                    return new Routed<T>(result.Value, null, new ServedBy(target, provider, choice.StandsInFor, attempt + 1)) { Attempts = calls };
                }

                lastError = error;
                if (!IsRetryable(error) || attempt >= (policy.Retries ?? _defaultRetries))
                {
                    break;
                }

                var delay = error.RetryAfter ?? Backoff(attempt);
                if (delay > _maxRetryAfter)
                {
                    break;
                }

                LogRetry(logger, target, attempt + 1, (int)delay.TotalMilliseconds, error.Kind);
                await Task.Delay(delay, cancellationToken);
            }

            if (!ShouldFallBack(lastError))
            {
                break;
            }

            LogFallback(logger, target, lastError.Kind);
        }

        return new Routed<T>(default, lastError ?? new UpstreamError(UpstreamErrorKind.NotConfigured, targets[0].Provider,
            $"No provider is available for '{targets[0]}'."), null) { Attempts = calls };
    }

    /// <summary>
    /// The targets to try, each with who would serve it. The offline demo stands in for an unconfigured provider only
    /// when no target in the list is configured: a configured fallback always beats the demo.
    /// </summary>
    private List<(RouteTarget Target, ProviderChoice Choice)> Candidates(IReadOnlyList<RouteTarget> targets, Func<string, ProviderCredential?> credentialFor)
    {
        var resolved = new List<(RouteTarget Target, ProviderChoice Choice)>(targets.Count);
        var anyReal = false;
        for (var i = 0; i < targets.Count; i++)
        {
            var target = targets[i];
            var choice = providers.Resolve(target.Provider, credentialFor(target.Provider)) ?? new ProviderChoice(null, null,
                new UpstreamError(UpstreamErrorKind.NotConfigured, target.Provider, $"The provider '{target.Provider}' is not known to this gateway."));
            anyReal |= choice is { Provider: not null, StandsInFor: null };
            resolved.Add((target, choice));
        }

        if (anyReal)
        {
            resolved.RemoveAll(static r => r.Choice.StandsInFor is not null);
        }

        return resolved;
    }

    /// <summary>
    /// One provider call, timed and counted in the upstream metrics (each retry is a call of its own), its outcome
    /// told to the target's circuit breaker: only the provider's own failures count against it.
    /// </summary>
    private static async Task<ProviderResult<T>> MeasuredCallAsync<T>(
        CircuitBreaker breaker, bool probe, IChatProvider provider, ChatCompletionRequest request,
        Func<IChatProvider, ChatCompletionRequest, CancellationToken, Task<ProviderResult<T>>> call, RoutingPolicy policy, bool streaming,
        GatewayMetrics metrics, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        ProviderResult<T> result;
        try
        {
            result = await CallWithTimeoutAsync(provider, request, call, policy, streaming, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            breaker.Abandon(probe);
            throw;
        }
        catch
        {
            breaker.Record(failed: true, probe);
            throw;
        }

        breaker.Record(failed: result.Error is { Kind: UpstreamErrorKind.Failed or UpstreamErrorKind.TimedOut }, probe);
        metrics.UpstreamCall(provider.Name, started, result.Error);
        return result;
    }

    private static async Task<ProviderResult<T>> CallWithTimeoutAsync<T>(
        IChatProvider provider, ChatCompletionRequest request,
        Func<IChatProvider, ChatCompletionRequest, CancellationToken, Task<ProviderResult<T>>> call, RoutingPolicy policy, bool streaming, CancellationToken cancellationToken)
    {
        if (policy.TimeoutSeconds is not { } seconds)
        {
            return await call(provider, request, cancellationToken);
        }

        // The workspace's own deadline. For a stream it covers opening only: the same token keeps the stream alive
        // afterwards, so the timer is switched off once the stream is open (and the source is left to the stream).
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        try
        {
            var result = await call(provider, request, timeout.Token);
            if (streaming && result.Error is null)
            {
                timeout.CancelAfter(Timeout.InfiniteTimeSpan);
                timeout = null;
            }

            return result;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new UpstreamError(UpstreamErrorKind.TimedOut, provider.Name,
                $"Provider '{provider.Name}' did not answer within the workspace's {seconds:0.#} seconds.");
        }
        finally
        {
            timeout?.Dispose();
        }
    }

    private static bool IsRetryable(UpstreamError error) =>
        error.Kind is UpstreamErrorKind.Failed or UpstreamErrorKind.TimedOut
        || error is { Kind: UpstreamErrorKind.Rejected, UpstreamStatus: 429 };

    /// <summary>Another target may succeed where this one could not; a request the provider found wrong would fail there too.</summary>
    private static bool ShouldFallBack(UpstreamError error) =>
        error.Kind is not UpstreamErrorKind.Rejected || error.UpstreamStatus == 429;

    private TimeSpan Backoff(int attempt)
    {
        var exponential = _backoff.TotalMilliseconds * Math.Pow(2, attempt);
        var jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
        return TimeSpan.FromMilliseconds(Math.Min(exponential * jitter, 8_000));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retrying {Target} (attempt {Attempt}) in {DelayMs} ms after {Kind}")]
    private static partial void LogRetry(ILogger logger, RouteTarget target, int attempt, int delayMs, UpstreamErrorKind kind);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Falling back from {Target} after {Kind}")]
    private static partial void LogFallback(ILogger logger, RouteTarget target, UpstreamErrorKind kind);
}
