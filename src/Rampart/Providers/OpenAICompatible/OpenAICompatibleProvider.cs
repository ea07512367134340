using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Rampart.OpenAI;

namespace Rampart.Providers.OpenAICompatible;

/// <summary>
/// OpenAI's own chat completions protocol, spoken by OpenAI, xAI, DeepSeek and self-hosted servers
/// (Ollama, vLLM, llama.cpp). Streams are relayed event by event as they arrive; nothing waits for the whole answer.
/// </summary>
internal sealed partial class OpenAICompatibleProvider(
    ProviderSettings settings,
    HttpClient http,
    UpstreamTimeouts timeouts,
    ILogger<OpenAICompatibleProvider> logger) : IChatProvider
{
    public const string HttpClientName = "upstream";
    private const int MaxErrorBodyBytes = 64 * 1024;

    public string Name => settings.Name;

    public async Task<ProviderResult<ChatCompletion>> CompleteAsync(ChatCompletionRequest request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(timeouts.Request);
        try
        {
            using var response = await SendAsync(request with { Stream = null, StreamOptions = null }, HttpCompletionOption.ResponseContentRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                return await ReadErrorAsync(response, timeout.Token);
            }

            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            var completion = await JsonSerializer.DeserializeAsync(body, OpenAIJson.Wire.ChatCompletion, timeout.Token);
            return completion is { Choices: not null }
                ? ProviderResult<ChatCompletion>.Ok(completion)
                : Failure($"Provider '{Name}' returned an empty answer.");
        }
        catch (JsonException)
        {
            return Failure($"Provider '{Name}' returned a response that is not a valid chat completion.");
        }
        catch (Exception ex) when (ToUpstreamError(ex, cancellationToken) is { } error)
        {
            return error;
        }
    }

    public async Task<ProviderResult<IAsyncEnumerable<ChatCompletionChunk>>> StreamAsync(ChatCompletionRequest request, CancellationToken cancellationToken)
    {
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(timeouts.Request);
        HttpResponseMessage? response = null;
        try
        {
            response = await SendAsync(request with { Stream = true }, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                return await ReadErrorAsync(response, timeout.Token);
            }

            var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            var stream = ReadChunksAsync(response, body, timeout, cancellationToken);
            response = null;
            timeout = null;
            return ProviderResult<IAsyncEnumerable<ChatCompletionChunk>>.Ok(stream);
        }
        catch (Exception ex) when (ToUpstreamError(ex, cancellationToken) is { } error)
        {
            return error;
        }
        finally
        {
            response?.Dispose();
            timeout?.Dispose();
        }
    }

    private async IAsyncEnumerable<ChatCompletionChunk> ReadChunksAsync(
        HttpResponseMessage response, Stream body, CancellationTokenSource timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var _ = response;
        using var __ = timeout;
        await using var ___ = body;
        var events = SseParser.Create(body, static (_, data) => data.SequenceEqual("[DONE]"u8)
            ? null
            : JsonSerializer.Deserialize(data, OpenAIJson.Wire.ChatCompletionChunk)).EnumerateAsync(timeout.Token);
        await using var enumerator = events.GetAsyncEnumerator(timeout.Token);
        while (true)
        {
            // Each event must arrive within the idle timeout; the clock restarts for every event.
            timeout.CancelAfter(timeouts.StreamIdle);
            ChatCompletionChunk? chunk;
            try
            {
                if (!await enumerator.MoveNextAsync())
                {
                    yield break;
                }

                chunk = enumerator.Current.Data;
            }
            catch (JsonException)
            {
                throw new UpstreamException(new UpstreamError(UpstreamErrorKind.Failed, Name, $"Provider '{Name}' sent a stream event that is not a valid chat completion chunk."));
            }
            catch (Exception ex) when (ToUpstreamError(ex, cancellationToken) is { } error)
            {
                throw new UpstreamException(error with
                {
                    Message = error.Kind == UpstreamErrorKind.TimedOut
                        ? $"Provider '{Name}' sent nothing for {timeouts.StreamIdle.TotalSeconds:0.#} seconds in the middle of a stream."
                        : $"The stream from provider '{Name}' broke off: {error.Message}",
                });
            }

            if (chunk is null)
            {
                yield break;
            }

            if (chunk.Extra?.TryGetValue("error", out var errorElement) == true)
            {
                throw new UpstreamException(ParseError(errorElement, null) with { Kind = UpstreamErrorKind.Failed });
            }

            yield return chunk;
        }
    }

    private async Task<HttpResponseMessage> SendAsync(ChatCompletionRequest request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, settings.BaseUrl + "/chat/completions")
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(request, OpenAIJson.Wire.ChatCompletionRequest))
            {
                Headers = { ContentType = new MediaTypeHeaderValue("application/json") },
            },
        };
        if (settings.ApiKey is { } key)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(request.Stream == true ? "text/event-stream" : "application/json"));
        return await http.SendAsync(message, completion, cancellationToken);
    }

    private async Task<UpstreamError> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
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
        }
        catch (JsonException)
        {
            // Not an OpenAI envelope (an HTML error page from a proxy, say); the status alone has to do.
        }

        var parsed = ParseError(error, status);
        LogUpstreamError(Name, status);
        return status switch
        {
            401 or 403 => parsed with
            {
                Kind = UpstreamErrorKind.Unauthorized,
                Message = $"Provider '{Name}' refused the gateway's credentials ({status}). An administrator must fix the provider key.",
            },
            >= 400 and < 500 => parsed with { Kind = UpstreamErrorKind.Rejected, RetryAfter = RetryAfter(response) },
            _ => parsed with
            {
                Kind = UpstreamErrorKind.Failed,
                Message = $"Provider '{Name}' failed with HTTP {status}: {parsed.Message}",
            },
        };
    }

    private UpstreamError ParseError(JsonElement? error, int? status)
    {
        string? Text(string property) =>
            error is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty(property, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

        var message = error is { ValueKind: JsonValueKind.String } s ? s.GetString() : Text("message");
        return new UpstreamError(UpstreamErrorKind.Rejected, Name, message ?? $"Provider '{Name}' answered HTTP {status?.ToString() ?? "error"}.", status)
        {
            Type = Text("type"),
            Param = Text("param"),
            Code = Text("code") ?? (error is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetRawText() : null),
        };
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

    /// <summary>Maps transport failures to values; returns null for the caller's own cancellation, which must propagate.</summary>
    private UpstreamError? ToUpstreamError(Exception ex, CancellationToken callerToken)
    {
        if (callerToken.IsCancellationRequested)
        {
            return null;
        }

        return ex switch
        {
            OperationCanceledException => new UpstreamError(UpstreamErrorKind.TimedOut, Name,
                $"Provider '{Name}' did not answer within {timeouts.Request.TotalSeconds:0.#} seconds."),
            HttpRequestException { HttpRequestError: var kind } => new UpstreamError(UpstreamErrorKind.Failed, Name,
                $"The connection to provider '{Name}' failed ({Describe(kind)})."),
            IOException => new UpstreamError(UpstreamErrorKind.Failed, Name, $"The connection to provider '{Name}' was interrupted."),
            _ => null,
        };
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

    private UpstreamError Failure(string message) => new(UpstreamErrorKind.Failed, Name, message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provider {Provider} answered HTTP {Status}")]
    private partial void LogUpstreamError(string provider, int status);
}
