using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Rampart.Hosting;
using Rampart.OpenAI;

namespace Rampart.Providers.Anthropic;

/// <summary>
/// Anthropic's native Messages API (<c>POST /v1/messages</c>): OpenAI requests are translated on the way in
/// (<see cref="AnthropicRequestTranslator"/>) and answers on the way out (<see cref="AnthropicResponseTranslator"/>,
/// <see cref="AnthropicStreamTranslator"/>), streamed event by event as they arrive.
/// </summary>
internal sealed class AnthropicProvider(
    ProviderSettings settings,
    HttpClient http,
    UpstreamTimeouts timeouts,
    ILogger<AnthropicProvider> logger) : IChatProvider
{
    /// <summary>The API version every request names; its wire format is what the translators speak.</summary>
    public const string ApiVersion = "2023-06-01";

    public static IChatProvider Create(ProviderSettings settings, ProviderContext context) =>
        new AnthropicProvider(settings, context.Http, context.Timeouts, context.LoggerFactory.CreateLogger<AnthropicProvider>());

    public string Name => settings.Name;

    public async Task<ProviderResult<ChatCompletion>> CompleteAsync(ChatCompletionRequest request, CancellationToken cancellationToken)
    {
        var (translated, untranslatable) = AnthropicRequestTranslator.Translate(request, Name, stream: false);
        if (untranslatable is not null)
        {
            return untranslatable;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(timeouts.Request);
        try
        {
            using var response = await SendAsync(translated!, HttpCompletionOption.ResponseContentRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                return await UpstreamHttp.ReadErrorAsync(Name, response, logger, timeout.Token);
            }

            await SocketCompletions.LeaveEventThreadAsync(response.Content.Headers.ContentLength);
            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            var message = await JsonSerializer.DeserializeAsync(body, AnthropicJson.Wire.AnthropicResponse, timeout.Token);
            return message is { Type: "message", Content: not null }
                ? ProviderResult<ChatCompletion>.Ok(AnthropicResponseTranslator.ToCompletion(message, DateTimeOffset.UtcNow.ToUnixTimeSeconds()))
                : Failure($"Provider '{Name}' returned an answer that is not a message.");
        }
        catch (JsonException)
        {
            return Failure($"Provider '{Name}' returned a response that is not a valid message.");
        }
        catch (Exception ex) when (UpstreamHttp.ToUpstreamError(Name, ex, timeouts.Request, cancellationToken) is { } error)
        {
            return error;
        }
    }

    public async Task<ProviderResult<IAsyncEnumerable<ChatCompletionChunk>>> StreamAsync(ChatCompletionRequest request, CancellationToken cancellationToken)
    {
        var (translated, untranslatable) = AnthropicRequestTranslator.Translate(request, Name, stream: true);
        if (untranslatable is not null)
        {
            return untranslatable;
        }

        var translator = new AnthropicStreamTranslator(Name, request.IncludeUsageInStream, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        return await UpstreamHttp.OpenStreamAsync(Name, timeouts, logger,
            ct => SendAsync(translated!, HttpCompletionOption.ResponseHeadersRead, ct),
            (response, body, timeout) => ReadChunksAsync(response, body, translator, timeout, cancellationToken),
            cancellationToken);
    }

    private async IAsyncEnumerable<ChatCompletionChunk> ReadChunksAsync(
        HttpResponseMessage response, Stream body, AnthropicStreamTranslator translator, CancellationTokenSource timeout,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var _ = response;
        using var __ = timeout;
        await using var ___ = body;
        var events = UpstreamHttp.ReadEventsAsync(Name, body, static (eventType, data) => eventType == "ping"
            ? null
            : JsonSerializer.Deserialize(data, AnthropicJson.Wire.AnthropicStreamEvent), timeout, timeouts.StreamIdle, cancellationToken);
        await foreach (var e in events)
        {
            foreach (var chunk in translator.Translate(e))
            {
                yield return chunk;
            }

            if (translator.Stopped)
            {
                yield break;
            }
        }

        throw new UpstreamException(new UpstreamError(UpstreamErrorKind.Failed, Name, $"The stream from provider '{Name}' ended before the answer was complete."));
    }

    private async Task<HttpResponseMessage> SendAsync(AnthropicRequest request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, settings.BaseUrl + "/v1/messages")
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(request, AnthropicJson.Wire.AnthropicRequest))
            {
                Headers = { ContentType = new MediaTypeHeaderValue("application/json") },
            },
        };
        if (settings.ApiKey is { } key)
        {
            message.Headers.Add("x-api-key", key);
        }

        message.Headers.Add("anthropic-version", ApiVersion);
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(request.Stream == true ? "text/event-stream" : "application/json"));
        return await http.SendAsync(message, completion, cancellationToken);
    }

    private UpstreamError Failure(string message) => new(UpstreamErrorKind.Failed, Name, message);
}
