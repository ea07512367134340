using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Rampart.Hosting;
using Rampart.OpenAI;

namespace Rampart.Providers.Gemini;

/// <summary>
/// Google Gemini through its native API: <c>models/{model}:generateContent</c> and
/// <c>:streamGenerateContent?alt=sse</c>, keyed by <c>x-goog-api-key</c>. Requests are translated by
/// <see cref="GeminiRequestTranslator"/>, answers by <see cref="GeminiResponseTranslator"/>; stream events are
/// translated one by one as they arrive.
/// </summary>
internal sealed class GeminiProvider(
    ProviderSettings settings,
    HttpClient http,
    UpstreamTimeouts timeouts,
    ILogger<GeminiProvider> logger) : IChatProvider
{
    public static IChatProvider Create(ProviderSettings settings, ProviderContext context) =>
        new GeminiProvider(settings, context.Http, context.Timeouts, context.LoggerFactory.CreateLogger<GeminiProvider>());

    public string Name => settings.Name;

    public async Task<ProviderResult<ChatCompletion>> CompleteAsync(ChatCompletionRequest request, CancellationToken cancellationToken)
    {
        var (body, untranslatable) = GeminiRequestTranslator.Translate(Name, request);
        if (untranslatable is not null)
        {
            return untranslatable;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(timeouts.Request);
        try
        {
            using var response = await SendAsync(request.Model!, body!, stream: false, HttpCompletionOption.ResponseContentRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                return await ReadErrorAsync(response, timeout.Token);
            }

            await SocketCompletions.LeaveEventThreadAsync(response.Content.Headers.ContentLength);
            await using var content = await response.Content.ReadAsStreamAsync(timeout.Token);
            var answer = await JsonSerializer.DeserializeAsync(content, GeminiJson.Default.GeminiResponse, timeout.Token);
            return answer is null
                ? Failure($"Provider '{Name}' returned an empty answer.")
                : GeminiResponseTranslator.ToCompletion(Name, answer, request.Model!);
        }
        catch (JsonException)
        {
            return Failure($"Provider '{Name}' returned a response that is not a valid Gemini answer.");
        }
        catch (Exception ex) when (UpstreamHttp.ToUpstreamError(Name, ex, timeouts.Request, cancellationToken) is { } error)
        {
            return error;
        }
    }

    public async Task<ProviderResult<IAsyncEnumerable<ChatCompletionChunk>>> StreamAsync(ChatCompletionRequest request, CancellationToken cancellationToken)
    {
        var (body, untranslatable) = GeminiRequestTranslator.Translate(Name, request);
        if (untranslatable is not null)
        {
            return untranslatable;
        }

        var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(timeouts.Request);
        HttpResponseMessage? response = null;
        IAsyncEnumerator<GeminiResponse>? events = null;
        try
        {
            response = await SendAsync(request.Model!, body!, stream: true, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                return await ReadErrorAsync(response, timeout.Token);
            }

            var content = await response.Content.ReadAsStreamAsync(timeout.Token);
            events = UpstreamHttp.ReadEventsAsync(Name, content, static (_, data) => JsonSerializer.Deserialize(data, GeminiJson.Default.GeminiResponse),
                timeout, timeouts.StreamIdle, cancellationToken).GetAsyncEnumerator(cancellationToken);

            // The first event is read before answering: a prompt Gemini refuses arrives as a stream of one event,
            // and still deserves a proper 400 rather than a stream that opens and fails.
            if (!await events.MoveNextAsync())
            {
                return Failure($"Provider '{Name}' ended the stream without sending anything.");
            }

            var first = events.Current;
            if (GeminiResponseTranslator.Blocked(Name, first) is { } blocked)
            {
                return blocked;
            }

            if (first.Error is { } error)
            {
                return UpstreamHttp.ParseError(Name, error, null) with { Kind = UpstreamErrorKind.Failed };
            }

            var chunks = TranslateAsync(response, timeout, events, first, request, cancellationToken);
            response = null;
            timeout = null;
            events = null;
            return ProviderResult<IAsyncEnumerable<ChatCompletionChunk>>.Ok(chunks);
        }
        catch (UpstreamException ex)
        {
            return ex.Error;
        }
        catch (Exception ex) when (UpstreamHttp.ToUpstreamError(Name, ex, timeouts.Request, cancellationToken) is { } error)
        {
            return error;
        }
        finally
        {
            if (events is not null)
            {
                await events.DisposeAsync();
            }

            response?.Dispose();
            timeout?.Dispose();
        }
    }

    /// <summary>
    /// Gemini events as OpenAI chunks. Each event carries whole parts: text deltas, and function calls complete with
    /// their arguments (sent as one tool-call delta, so they can never be lost between events). The finish reason
    /// gets a chunk of its own per choice; usage, cumulative in every event, is sent once at the end when asked for.
    /// </summary>
    private async IAsyncEnumerable<ChatCompletionChunk> TranslateAsync(
        HttpResponseMessage response, CancellationTokenSource timeout, IAsyncEnumerator<GeminiResponse> events, GeminiResponse first,
        ChatCompletionRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var _ = response;
        using var __ = timeout;
        await using var ___ = events;
        var id = GeminiResponseTranslator.CompletionId(first);
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var model = first.ModelVersion ?? request.Model!;
        var lanes = new Dictionary<int, Lane>();
        GeminiUsage? usage = null;
        ChatCompletionChunk Chunk(int index, ChatDelta delta, string? finish = null) =>
            new() { Id = id, Created = created, Model = model, Choices = [new ChunkChoice { Index = index, Delta = delta, FinishReason = finish }] };

        for (var current = first; current is not null; current = await events.MoveNextAsync() ? events.Current : null)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (current.Error is { } error)
            {
                throw new UpstreamException(UpstreamHttp.ParseError(Name, error, null) with { Kind = UpstreamErrorKind.Failed });
            }

            usage = current.UsageMetadata ?? usage;
            foreach (var candidate in current.Candidates ?? [])
            {
                // Gemini omits the index of the first candidate (a proto3 default).
                var index = candidate.Index ?? 0;
                var lane = lanes.TryGetValue(index, out var known) ? known : lanes[index] = new Lane();
                var (text, reasoning, calls) = GeminiResponseTranslator.Split(candidate.Content);
                var opening = !lane.Started;
                if (opening || text.Length > 0 || reasoning.Length > 0 || calls.Count > 0)
                {
                    yield return Chunk(index, new ChatDelta
                    {
                        Role = opening ? "assistant" : null,
                        Content = text.Length > 0 || (opening && calls.Count == 0 && reasoning.Length == 0) ? text : null,
                        ReasoningContent = reasoning.Length > 0 ? reasoning : null,
                        ToolCalls = calls.Count > 0
                            ? [.. calls.Select((c, k) => new ToolCallDelta
                            {
                                Index = lane.ToolCalls + k,
                                Id = c.Id,
                                Type = "function",
                                Function = new FunctionCall { Name = c.Call.Name, Arguments = c.Arguments },
                                Extra = c.Extra,
                            })]
                            : null,
                    });
                    lane.Started = true;
                    lane.ToolCalls += calls.Count;
                }

                if (candidate.FinishReason is not null)
                {
                    if (GeminiResponseTranslator.Failure(Name, candidate) is { } failure)
                    {
                        throw new UpstreamException(failure);
                    }

                    lane.Finished = true;
                    yield return Chunk(index, new ChatDelta(), GeminiResponseTranslator.FinishReason(candidate.FinishReason, lane.ToolCalls > 0));
                }
            }
        }

        if (lanes.Count == 0 || lanes.Values.Any(l => !l.Finished))
        {
            // A clean end of the HTTP body without a finish reason is still a cut-off answer, not a complete one.
            throw new UpstreamException(Failure($"The stream from provider '{Name}' ended before the answer was finished."));
        }

        if (request.IncludeUsageInStream && GeminiResponseTranslator.Usage(usage) is { } total)
        {
            yield return new ChatCompletionChunk { Id = id, Created = created, Model = model, Choices = [], Usage = total };
        }
    }

    private async Task<HttpResponseMessage> SendAsync(string model, GeminiRequest body, bool stream, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        // Gemini's own model names read "models/gemini-…"; callers may use either form.
        var name = model.StartsWith("models/", StringComparison.Ordinal) ? model["models/".Length..] : model;
        var action = stream ? ":streamGenerateContent?alt=sse" : ":generateContent";
        using var message = new HttpRequestMessage(HttpMethod.Post, $"{settings.BaseUrl}/v1beta/models/{Uri.EscapeDataString(name)}{action}")
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, GeminiJson.Default.GeminiRequest))
            {
                Headers = { ContentType = new MediaTypeHeaderValue("application/json") },
            },
        };
        if (settings.ApiKey is { } key)
        {
            message.Headers.Add("x-goog-api-key", key);
        }

        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(stream ? "text/event-stream" : "application/json"));
        return await http.SendAsync(message, completion, cancellationToken);
    }

    private async Task<UpstreamError> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var error = await UpstreamHttp.ReadErrorAsync(Name, response, logger, cancellationToken);

        // Gemini answers a wrong or expired key with 400 INVALID_ARGUMENT ("API key not valid …"), not 401: it is
        // still the gateway's credential at fault, not the caller's request.
        return error is { Kind: UpstreamErrorKind.Rejected, UpstreamStatus: 400 } && error.Message.StartsWith("API key", StringComparison.Ordinal)
            ? error with
            {
                Kind = UpstreamErrorKind.Unauthorized,
                Message = $"Provider '{Name}' refused the gateway's credentials ({error.Message}). An administrator must fix the provider key.",
            }
            : error;
    }

    private UpstreamError Failure(string message) => new(UpstreamErrorKind.Failed, Name, message);

    /// <summary>One candidate's progress through the stream.</summary>
    private sealed class Lane
    {
        public bool Started { get; set; }
        public int ToolCalls { get; set; }
        public bool Finished { get; set; }
    }
}
