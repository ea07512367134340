using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Rampart.Providers;

/// <summary>
/// What every provider adapter does the same way over HTTP: turning error answers and transport failures into
/// <see cref="UpstreamError"/> values, and reading a server-sent event stream with an idle timeout.
/// OpenAI, Anthropic and Gemini all answer errors as <c>{"error":{"message", …}}</c>, so one parser serves them.
/// </summary>
internal static partial class UpstreamHttp
{
    private const int MaxErrorBodyBytes = 64 * 1024;

    /// <summary>
    /// Largest non-streamed answer buffered from a provider (the client's own default is 2 GB). Far above any real
    /// answer, even with log probabilities for every token; what it stops is a broken or hostile endpoint filling memory.
    /// </summary>
    public const int MaxAnswerBytes = 64 * 1024 * 1024;

    /// <summary>Reads a non-success answer into an error value: 401/403 are the gateway's problem, other 4xx the caller's, the rest the provider's.</summary>
    public static async Task<UpstreamError> ReadErrorAsync(string provider, HttpResponseMessage response, ILogger logger, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        JsonElement? error = null;
        try
        {
            var bytes = await ReadLimitedAsync(response.Content, cancellationToken);
            using var document = JsonDocument.Parse(bytes);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var e))
            {
                error = e.Clone();
            }
            else if (document.RootElement.ValueKind == JsonValueKind.Array && document.RootElement.GetArrayLength() > 0
                     && document.RootElement[0].TryGetProperty("error", out var first))
            {
                // Gemini sometimes wraps its error envelope in an array.
                error = first.Clone();
            }
        }
        catch (JsonException)
        {
            // Not a JSON envelope (an HTML error page from a proxy, say); the status alone has to do.
        }

        var parsed = ParseError(provider, error, status);
        LogUpstreamError(logger, provider, status);
        return status switch
        {
            401 or 403 => parsed with
            {
                Kind = UpstreamErrorKind.Unauthorized,
                Message = $"Provider '{provider}' refused the gateway's credentials ({status}). An administrator must fix the provider key.",
            },
            >= 400 and < 500 => parsed with { Kind = UpstreamErrorKind.Rejected, RetryAfter = RetryAfter(response) },
            _ => parsed with
            {
                Kind = UpstreamErrorKind.Failed,
                Message = $"Provider '{provider}' failed with HTTP {status}: {parsed.Message}",
            },
        };
    }

    /// <summary>An error object (or string) as the providers send it: message, type (or Gemini's status), param, code.</summary>
    public static UpstreamError ParseError(string provider, JsonElement? error, int? status)
    {
        string? Text(string property) =>
            error is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty(property, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

        var message = error is { ValueKind: JsonValueKind.String } s ? s.GetString() : Text("message");
        return new UpstreamError(UpstreamErrorKind.Rejected, provider, message ?? $"Provider '{provider}' answered HTTP {status?.ToString() ?? "error"}.", status)
        {
            Type = Text("type") ?? Text("status")?.ToLowerInvariant(),
            Param = Text("param"),
            Code = Text("code") ?? (error is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetRawText() : null),
        };
    }

    /// <summary>Maps transport failures to values; returns null for the caller's own cancellation, which must propagate.</summary>
    public static UpstreamError? ToUpstreamError(string provider, Exception ex, TimeSpan requestTimeout, CancellationToken callerToken)
    {
        if (callerToken.IsCancellationRequested)
        {
            return null;
        }

        return ex switch
        {
            OperationCanceledException => new UpstreamError(UpstreamErrorKind.TimedOut, provider,
                $"Provider '{provider}' did not answer within {requestTimeout.TotalSeconds:0.#} seconds."),
            HttpRequestException { HttpRequestError: HttpRequestError.ConfigurationLimitExceeded } => new UpstreamError(UpstreamErrorKind.Failed, provider,
                $"Provider '{provider}' sent an answer beyond the gateway's limits ({MaxAnswerBytes / (1024 * 1024)} MB of body, 64 KB of headers)."),
            HttpRequestException { HttpRequestError: var kind } => new UpstreamError(UpstreamErrorKind.Failed, provider,
                $"The connection to provider '{provider}' failed ({Describe(kind)})."),
            IOException => new UpstreamError(UpstreamErrorKind.Failed, provider, $"The connection to provider '{provider}' was interrupted."),
            _ => null,
        };
    }

    /// <summary>
    /// Opens a streamed call: sends it within the request timeout, turns a non-success answer or a transport failure
    /// into an error value, and otherwise hands the response, its body and the timeout source to <paramref name="read"/>,
    /// whose enumerator then owns (and disposes) them.
    /// </summary>
    public static async Task<ProviderResult<IAsyncEnumerable<T>>> OpenStreamAsync<T>(
        string provider, UpstreamTimeouts timeouts, ILogger logger,
        Func<CancellationToken, Task<HttpResponseMessage>> send,
        Func<HttpResponseMessage, Stream, CancellationTokenSource, IAsyncEnumerable<T>> read,
        CancellationToken cancellationToken)
    {
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(timeouts.Request);
        HttpResponseMessage? response = null;
        try
        {
            response = await send(timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                return await ReadErrorAsync(provider, response, logger, timeout.Token);
            }

            var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            var stream = read(response, body, timeout);
            response = null;
            timeout = null;
            return ProviderResult<IAsyncEnumerable<T>>.Ok(stream);
        }
        catch (Exception ex) when (ToUpstreamError(provider, ex, timeouts.Request, cancellationToken) is { } error)
        {
            return error;
        }
        finally
        {
            response?.Dispose();
            timeout?.Dispose();
        }
    }

    /// <summary>
    /// The events of a server-sent event stream, parsed by <paramref name="parse"/> (null results are skipped).
    /// Each event must arrive within <paramref name="idle"/> and be at most 16 MB; a broken, stalled or runaway stream ends in an
    /// <see cref="UpstreamException"/>.
    /// </summary>
    public static async IAsyncEnumerable<T> ReadEventsAsync<T>(
        string provider, Stream body, SseItemParser<T?> parse, CancellationTokenSource timeout, TimeSpan idle,
        [EnumeratorCancellation] CancellationToken cancellationToken)
        where T : class
    {
        var events = SseParser.Create(new BoundedEventStream(body, BoundedEventStream.DefaultMaxEventBytes), parse).EnumerateAsync(timeout.Token);
        await using var enumerator = events.GetAsyncEnumerator(timeout.Token);
        while (true)
        {
            // Each event must arrive within the idle timeout; the clock restarts for every event.
            timeout.CancelAfter(idle);
            T? item;
            try
            {
                if (!await enumerator.MoveNextAsync())
                {
                    yield break;
                }

                item = enumerator.Current.Data;
            }
            catch (JsonException)
            {
                throw new UpstreamException(new UpstreamError(UpstreamErrorKind.Failed, provider, $"Provider '{provider}' sent a stream event that could not be read."));
            }
            catch (EventTooLargeException ex)
            {
                throw new UpstreamException(new UpstreamError(UpstreamErrorKind.Failed, provider,
                    $"Provider '{provider}' sent a stream event larger than {ex.MaxEventBytes / (1024 * 1024)} MB; the stream was abandoned."));
            }
            catch (Exception ex) when (ToUpstreamError(provider, ex, idle, cancellationToken) is { } error)
            {
                throw new UpstreamException(error with
                {
                    Message = error.Kind == UpstreamErrorKind.TimedOut
                        ? $"Provider '{provider}' sent nothing for {idle.TotalSeconds:0.#} seconds in the middle of a stream."
                        : $"The stream from provider '{provider}' broke off: {error.Message}",
                });
            }

            if (item is not null)
            {
                yield return item;
            }
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow,
            _ => null,
        };

    private static async Task<byte[]> ReadLimitedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[MaxErrorBodyBytes];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }

        return buffer[..total];
    }

    private static string Describe(HttpRequestError error) => error switch
    {
        HttpRequestError.ConnectionError => "could not connect",
        HttpRequestError.NameResolutionError => "host name not found",
        HttpRequestError.SecureConnectionError => "TLS handshake failed",
        HttpRequestError.ResponseEnded => "the connection closed before the answer was complete",
        HttpRequestError.InvalidResponse => "invalid HTTP response",
        _ => "transport error",
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provider {Provider} answered HTTP {Status}")]
    private static partial void LogUpstreamError(ILogger logger, string provider, int status);
}
