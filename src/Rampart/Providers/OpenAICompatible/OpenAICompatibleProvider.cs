using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Rampart.Hosting;
using Rampart.OpenAI;

namespace Rampart.Providers.OpenAICompatible;

/// <summary>
/// OpenAI's own chat completions protocol, spoken by OpenAI, xAI, DeepSeek and self-hosted servers
/// (Ollama, vLLM, llama.cpp). Streams are relayed event by event as they arrive; nothing waits for the whole answer.
/// </summary>
internal sealed class OpenAICompatibleProvider(
    ProviderSettings settings,
    HttpClient http,
    UpstreamTimeouts timeouts,
    ILogger<OpenAICompatibleProvider> logger,
    Func<string, string>? chatUrl = null,
    string? keyHeader = null) : IChatProvider
{
    public const string AzureApiVersionSetting = "AZURE_OPENAI_API_VERSION";
    public const string DefaultAzureApiVersion = "2024-10-21";

    public static IChatProvider Create(ProviderSettings settings, ProviderContext context) =>
        new OpenAICompatibleProvider(settings, context.Http, context.Timeouts, context.LoggerFactory.CreateLogger<OpenAICompatibleProvider>());

    /// <summary>
    /// Azure OpenAI: the same wire format, but the model is a deployment named in the URL, the API version is a query
    /// parameter, and the key travels in an <c>api-key</c> header.
    /// </summary>
    public static IChatProvider CreateAzure(ProviderSettings settings, ProviderContext context)
    {
        var version = Uri.EscapeDataString(context.Configuration[AzureApiVersionSetting] is { Length: > 0 } v ? v : DefaultAzureApiVersion);
        return new OpenAICompatibleProvider(settings, context.Http, context.Timeouts, context.LoggerFactory.CreateLogger<OpenAICompatibleProvider>(),
            deployment => $"{settings.BaseUrl}/openai/deployments/{Uri.EscapeDataString(deployment)}/chat/completions?api-version={version}",
            "api-key");
    }

    public string Name => settings.Name;

    public async Task<ProviderResult<ChatCompletion>> CompleteAsync(ChatCompletionRequest request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(timeouts.Request);
        try
        {
            var unstreamed = request is { Stream: null, StreamOptions: null } ? request : request with { Stream = null, StreamOptions = null };
            using var response = await SendAsync(unstreamed, HttpCompletionOption.ResponseContentRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                return await UpstreamHttp.ReadErrorAsync(Name, response, logger, timeout.Token);
            }

            // Already read in full (ResponseContentRead): parsed from the bytes, which are kept to be sent on if nothing rewrites the answer.
            await SocketCompletions.LeaveEventThreadAsync(response.Content.Headers.ContentLength);
            var json = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            if (JsonSerializer.Deserialize(json, OpenAIJson.Wire.ChatCompletion) is not { Choices: not null } completion)
            {
                return Failure($"Provider '{Name}' returned an empty answer.");
            }

            completion.Upstream = UpstreamJson.Keep(json, oneLine: false);
            return ProviderResult<ChatCompletion>.Ok(completion);
        }
        catch (JsonException)
        {
            return Failure($"Provider '{Name}' returned a response that is not a valid chat completion.");
        }
        catch (Exception ex) when (UpstreamHttp.ToUpstreamError(Name, ex, timeouts.Request, cancellationToken) is { } error)
        {
            return error;
        }
    }

    public Task<ProviderResult<IAsyncEnumerable<ChatCompletionChunk>>> StreamAsync(ChatCompletionRequest request, CancellationToken cancellationToken) =>
        UpstreamHttp.OpenStreamAsync(Name, timeouts, logger,
            ct => SendAsync(request.Stream == true ? request : request with { Stream = true }, HttpCompletionOption.ResponseHeadersRead, ct),
            (response, body, timeout) => ReadChunksAsync(response, body, timeout, cancellationToken),
            cancellationToken);

    private async IAsyncEnumerable<ChatCompletionChunk> ReadChunksAsync(
        HttpResponseMessage response, Stream body, CancellationTokenSource timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var _ = response;
        using var __ = timeout;
        await using var ___ = body;
        ChatCompletionChunk? previous = null;
        var chunks = UpstreamHttp.ReadEventsAsync(Name, body, (_, data) => data.SequenceEqual("[DONE]"u8) ? Done : previous = ReadChunk(data, previous),
            timeout, timeouts.StreamIdle, cancellationToken);
        await foreach (var chunk in chunks)
        {
            if (ReferenceEquals(chunk, Done))
            {
                yield break;
            }

            if (chunk.Extra?.TryGetValue("error", out var errorElement) == true)
            {
                throw new UpstreamException(UpstreamHttp.ParseError(Name, errorElement, null) with { Kind = UpstreamErrorKind.Failed });
            }

            yield return chunk;
        }
    }

    /// <summary>Stands for <c>data: [DONE]</c>.</summary>
    private static readonly ChatCompletionChunk Done = new();

    /// <summary>One event's JSON, read, with the bytes kept to be sent on as they are if nothing rewrites the chunk.</summary>
    internal static ChatCompletionChunk? ReadChunk(ReadOnlySpan<byte> data, ChatCompletionChunk? previous = null)
    {
        var chunk = ChunkReader.Read(data, previous);
        if (chunk is not null)
        {
            chunk.Upstream = UpstreamJson.Keep(data.ToArray(), oneLine: true);
        }

        return chunk;
    }

    private async Task<HttpResponseMessage> SendAsync(ChatCompletionRequest request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, chatUrl?.Invoke(request.Model ?? "") ?? settings.BaseUrl + "/chat/completions")
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(request, OpenAIJson.Wire.ChatCompletionRequest))
            {
                Headers = { ContentType = new MediaTypeHeaderValue("application/json") },
            },
        };
        if (settings.ApiKey is { } key && keyHeader is not null)
        {
            message.Headers.Add(keyHeader, key);
        }
        else if (settings.ApiKey is { } bearer)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(request.Stream == true ? "text/event-stream" : "application/json"));
        return await http.SendAsync(message, completion, cancellationToken);
    }

    private UpstreamError Failure(string message) => new(UpstreamErrorKind.Failed, Name, message);
}
