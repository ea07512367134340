using System.Threading.RateLimiting;
using Rampart.OpenAI;

namespace Rampart.Hosting;

/// <summary>
/// Admission control for chat requests. Parsing and scanning a request is the gateway's own work, bound by CPU and
/// memory (a prompt is held several times over while it is parsed, scanned and redacted); only
/// <see cref="Concurrency"/> requests do it at once. A request waits for its turn only once its body has arrived, so
/// slow uploads hold no place. The others wait in arrival order with nothing of theirs parsed yet; beyond
/// <see cref="QueueLength"/> waiting, or after <see cref="QueueTimeout"/> of waiting, they are turned away with a 503
/// and <c>Retry-After</c>, which the OpenAI SDKs retry on their own.
/// <para>
/// A request leaves admission before its firewall rules and its provider call: a slow provider, a long non-streamed
/// answer, a topic judge or an open stream never holds a place here, so neither long answers nor thousands of held
/// streams are capped by it. What bounds requests waiting on providers is the connection cap (<see cref="ServerLimits"/>).
/// </para>
/// </summary>
internal sealed class Admission : IDisposable
{
    private readonly ConcurrencyLimiter _limiter;
    private long _arriving;

    public Admission(IConfiguration configuration)
    {
        Concurrency = configuration.GetValue("Rampart:Admission:Concurrency", DefaultConcurrency);
        QueueLength = configuration.GetValue("Rampart:Admission:QueueLength", 1000);
        var timeoutSeconds = configuration.GetValue("Rampart:Admission:QueueTimeoutSeconds", 10.0);
        if (Concurrency < 1)
        {
            throw new InvalidOperationException($"Rampart:Admission:Concurrency must be at least 1; it is {Concurrency}.");
        }

        if (QueueLength < 0)
        {
            throw new InvalidOperationException($"Rampart:Admission:QueueLength must be 0 or more; it is {QueueLength}.");
        }

        if (timeoutSeconds is <= 0 or > 3600)
        {
            throw new InvalidOperationException($"Rampart:Admission:QueueTimeoutSeconds must be more than 0 and at most 3600; it is {timeoutSeconds}.");
        }

        QueueTimeout = TimeSpan.FromSeconds(timeoutSeconds);
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = Concurrency,
            QueueLimit = QueueLength,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>
    /// Eight per CPU. Parsing and scanning are CPU work, so a few per CPU keep the CPUs busy (a body over
    /// <see cref="ArrivalWindow"/> is still read while it holds its place); more would only hold more prompts in memory.
    /// </summary>
    public static int DefaultConcurrency => 8 * Environment.ProcessorCount;

    public int Concurrency { get; }

    public int QueueLength { get; }

    public TimeSpan QueueTimeout { get; }

    /// <summary>Requests being prepared right now.</summary>
    public long Preparing => Concurrency - (_limiter.GetStatistics()?.CurrentAvailablePermits ?? Concurrency);

    /// <summary>Requests whose bodies are still arriving (slow uploads), before they wait for a place.</summary>
    public long Arriving => Interlocked.Read(ref _arriving);

    /// <summary>Requests waiting for their turn.</summary>
    public long Queued => _limiter.GetStatistics()?.CurrentQueuedCount ?? 0;

    /// <summary>
    /// How much of a body must have arrived before its request waits for a place: all of it, or this much of a larger
    /// one. Below Kestrel's 1 MB request buffer and its 768 KB HTTP/2 stream window, so that waiting for it can never
    /// stall the upload.
    /// </summary>
    public const int ArrivalWindow = 512 * 1024;

    /// <summary>
    /// A place to prepare <paramref name="request"/>, to be disposed as soon as it is prepared; or the 503 to answer
    /// when there is none. The body must have arrived first (<see cref="ArrivalWindow"/>), so a slow upload holds no
    /// place: Kestrel's minimum data rate drops it if it is too slow. Throws <see cref="OperationCanceledException"/>
    /// when the caller goes away while waiting.
    /// </summary>
    public async ValueTask<(RateLimitLease? Place, ApiError? Busy)> EnterAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        await BodyArrivedAsync(request, cancellationToken);
        // A request that follows another on its connection can get here on a socket event thread: a large prompt is
        // parsed and scanned on the thread pool instead.
        await SocketCompletions.LeaveEventThreadAsync(request.ContentLength);
        var lease = _limiter.AttemptAcquire();
        if (lease.IsAcquired)
        {
            return (lease, null);
        }

        lease.Dispose();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(QueueTimeout);
        try
        {
            lease = await _limiter.AcquireAsync(1, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, Busy($"The gateway is at capacity: this request waited {QueueTimeout.TotalSeconds:0.#} s for its turn. Retry shortly."));
        }

        if (lease.IsAcquired)
        {
            return (lease, null);
        }

        lease.Dispose();
        return (null, Busy($"The gateway is at capacity and its queue is full ({QueueLength} waiting). Retry shortly."));
    }

    /// <summary>Waits, reading nothing, until the body is in Kestrel's buffers or <see cref="ArrivalWindow"/> of it is.</summary>
    private async ValueTask BodyArrivedAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var body = request.BodyReader;
        var waiting = false;
        try
        {
            while (true)
            {
                var arrived = await body.ReadAsync(cancellationToken);
                if (arrived.IsCompleted || arrived.IsCanceled || arrived.Buffer.Length >= ArrivalWindow)
                {
                    // Nothing consumed or examined: the parser reads the same bytes from the start.
                    body.AdvanceTo(arrived.Buffer.Start);
                    return;
                }

                // Nothing consumed, all examined: the next read waits for more.
                body.AdvanceTo(arrived.Buffer.Start, arrived.Buffer.End);
                if (!waiting)
                {
                    waiting = true;
                    Interlocked.Increment(ref _arriving);
                }
            }
        }
        finally
        {
            if (waiting)
            {
                Interlocked.Decrement(ref _arriving);
            }
        }
    }

    private static ApiError Busy(string message) =>
        new(StatusCodes.Status503ServiceUnavailable, message, "server_error", null, "server_overloaded") { RetryAfter = TimeSpan.FromSeconds(1) };

    public void Dispose() => _limiter.Dispose();
}
