using System.Text.Json;
using Rampart.Gateway;
using Rampart.OpenAI;
using Rampart.Providers;
using Rampart.Routing;

namespace Rampart.Search;

/// <summary>
/// The outcome of a searched answer: the final model answer (or the routing failure), or why a query was blocked; and
/// each choice's sources, by choice index (every choice is a conversation of its own once it searches).
/// </summary>
internal sealed record SearchedAnswer(Routed<ChatCompletion> Result, ApiError? Blocked, IReadOnlyDictionary<int, IReadOnlyList<SearchResult>> Sources);

/// <summary>
/// The gateway-run <c>web_search</c> tool: offer it to the model next to the caller's own tools, run the model's
/// searches here (each query guarded like any outgoing text), hand back the results as untrusted content, and call
/// again until the model answers — at most <see cref="WebSearch.MaxRounds"/> rounds of searches. With <c>n</c> &gt; 1
/// every choice that searches is followed on its own. The caller never sees the gateway's tool calls; the caller's
/// own tool calls come back to the caller as usual. For a model without tools, the search comes first instead
/// (<see cref="SearchSession.SearchFirstAsync"/>) and the model is called once with the results.
/// </summary>
internal static class WebSearchLoop
{
    public const string ToolName = "web_search";

    public const string CouldNotFinish = "I could not finish the web search for this question within the allowed number of searches.";

    public static readonly ToolDefinition Tool = new()
    {
        Type = "function",
        Function = new FunctionDefinition
        {
            Name = ToolName,
            Description = "Search the web for current information. Returns numbered results (title, URL, snippet) to cite as [n].",
            Parameters = JsonDocument.Parse("""{"type":"object","properties":{"query":{"type":"string","description":"The search query"}},"required":["query"]}""").RootElement.Clone(),
        },
    };

    public static readonly JsonElement NoTools = JsonDocument.Parse("\"none\"").RootElement.Clone();

    /// <summary>Whether this request can carry the gateway's tool: not when the caller brings a tool of the same name.</summary>
    public static bool Applies(ChatCompletionRequest upstream) => upstream.Tools?.Any(t => t.Function?.Name == ToolName) != true;

    /// <summary>The request as the model first sees it: with the search tool next to the caller's, unless the search comes first.</summary>
    public static ChatCompletionRequest Offer(ChatCompletionRequest upstream, SearchSession session) =>
        session.SearchFirst ? upstream : upstream with { Tools = [.. upstream.Tools ?? [], Tool] };

    /// <summary>The next model call of one choice that searched: that choice alone, told to answer once the rounds are used up.</summary>
    public static ChatCompletionRequest Continue(ChatCompletionRequest request, ChatCompletionRequest upstream, IReadOnlyList<ChatMessage> messages, bool lastRound) =>
        request with
        {
            N = null,
            Messages = messages,
            // With no tools of the caller's, the model is told outright to answer now.
            ToolChoice = lastRound && upstream.Tools is not { Count: > 0 } ? NoTools : request.ToolChoice,
        };

    public static async Task<SearchedAnswer> CompleteAsync(Router router, RoutingRequest routing, ChatCompletionRequest upstream, SearchSession session,
        CancellationToken cancellationToken)
    {
        var sources = new List<SearchResult>();
        var messages = upstream.Messages ?? [];
        var none = new Dictionary<int, IReadOnlyList<SearchResult>>();
        if (session.SearchFirst)
        {
            (messages, var refused) = await session.SearchFirstAsync(messages, sources, cancellationToken);
            if (refused is not null)
            {
                return new SearchedAnswer(default, refused, none);
            }
        }

        var request = Offer(upstream, session) with { Stream = null, StreamOptions = null, Messages = messages };
        var first = await router.CompleteAsync(routing.Targets, routing.Policy, routing.CredentialFor, request, cancellationToken);
        if (first.Error is not null || first.Value is not { } completion)
        {
            return new SearchedAnswer(first, null, none);
        }

        var calls = new ModelCalls(first.Attempts, first.ServedBy, completion.Usage);
        var choices = new List<ChatChoice>();
        var cited = new Dictionary<int, IReadOnlyList<SearchResult>>();
        foreach (var choice in completion.Choices)
        {
            var followed = new List<SearchResult>(sources);
            var (final, blocked, error) = await FollowAsync(router, routing, request, upstream, session, choice, [.. messages], followed, calls, cancellationToken);
            if (blocked is not null || error is not null)
            {
                return new SearchedAnswer(new Routed<ChatCompletion>(default, error, calls.ServedBy) { Attempts = calls.Attempts }, blocked, none);
            }

            choices.Add(final! with { Index = choice.Index });
            cited[choice.Index] = followed;
        }

        var answer = completion with { Choices = choices, Usage = calls.Usage };
        return new SearchedAnswer(new Routed<ChatCompletion>(answer, null, calls.ServedBy) { Attempts = calls.Attempts }, null, cited);
    }

    /// <summary>
    /// One choice, followed while it only asks for searches and rounds are left: its searches run, then the model is
    /// asked again for this choice alone. Its answer, a call of the caller's tools, or the round limit ends it.
    /// </summary>
    private static async Task<(ChatChoice? Choice, ApiError? Blocked, UpstreamError? Error)> FollowAsync(Router router, RoutingRequest routing,
        ChatCompletionRequest request, ChatCompletionRequest upstream, SearchSession session, ChatChoice choice, List<ChatMessage> messages,
        List<SearchResult> sources, ModelCalls calls, CancellationToken cancellationToken)
    {
        for (var round = 0; ; round++)
        {
            var toolCalls = choice.Message.ToolCalls ?? [];
            var ours = toolCalls.Where(IsOurs).ToList();
            if (ours.Count == 0 || round >= session.MaxRounds || ours.Count < toolCalls.Count)
            {
                return (WithoutOwnCalls(choice), null, null);
            }

            messages.Add(choice.Message with { ToolCalls = ours });
            foreach (var call in ours)
            {
                var (content, blocked) = await session.RunAsync(call, sources, cancellationToken);
                if (blocked is not null)
                {
                    return (null, blocked, null);
                }

                messages.Add(new ChatMessage { Role = "tool", ToolCallId = call.Id, Content = MessageContent.FromText(content) });
            }

            var next = await router.CompleteAsync(routing.Targets, routing.Policy, routing.CredentialFor,
                Continue(request, upstream, [.. messages], lastRound: round + 1 >= session.MaxRounds), cancellationToken);
            calls.Add(next.Attempts, next.ServedBy, next.Value?.Usage);
            if (next.Error is not null || next.Value is not { } completion)
            {
                return (null, null, next.Error);
            }

            choice = completion.Choices.Count > 0 ? completion.Choices[0] : new ChatChoice { Message = ChatMessage.FromText("assistant", ""), FinishReason = "stop" };
        }
    }

    /// <summary>
    /// OpenAI's <c>url_citation</c> annotations on each answer's message, one per source; the span is where the
    /// answer shows the source's address, else where it cites it as <c>[n]</c>, else empty at the start.
    /// Applied after the output guardrails so that the offsets match the text the caller receives.
    /// </summary>
    public static ChatCompletion Cite(ChatCompletion completion, IReadOnlyDictionary<int, IReadOnlyList<SearchResult>> cited)
    {
        var choices = completion.Choices.Select(choice =>
        {
            var text = choice.Message.Content?.JoinedText() ?? "";
            if (text.Length == 0 || cited.GetValueOrDefault(choice.Index) is not { Count: > 0 } sources)
            {
                return choice;
            }

            var extra = new Dictionary<string, JsonElement>(choice.Message.Extra ?? []) { ["annotations"] = Annotations(text, sources) };
            return choice with { Message = choice.Message with { Extra = extra } };
        }).ToList();
        return completion with { Choices = choices };
    }

    private static bool IsOurs(ToolCall call) => call.Function?.Name == ToolName;

    /// <summary>What of a choice goes to the caller: the caller's own tool calls, never the gateway's.</summary>
    private static ChatChoice WithoutOwnCalls(ChatChoice choice)
    {
        if (choice.Message.ToolCalls is not { } calls || !calls.Any(IsOurs))
        {
            return choice;
        }

        var theirs = calls.Where(c => !IsOurs(c)).ToList();
        if (theirs.Count > 0)
        {
            return choice with { Message = choice.Message with { ToolCalls = theirs } };
        }

        // Still searching when the rounds ran out: the caller gets what text there is, or says so plainly.
        var content = choice.Message.Content is { } c && c.JoinedText().Length > 0 ? c : MessageContent.FromText(CouldNotFinish);
        return choice with { Message = choice.Message with { ToolCalls = null, Content = content }, FinishReason = "stop" };
    }

    public static JsonElement Annotations(string text, IReadOnlyList<SearchResult> sources)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            for (var i = 0; i < sources.Count; i++)
            {
                var source = sources[i];
                var (start, length) = Span(text, source.Url) ?? Span(text, $"[{i + 1}]") ?? (0, 0);
                writer.WriteStartObject();
                writer.WriteString("type", "url_citation");
                writer.WriteStartObject("url_citation");
                writer.WriteNumber("start_index", start);
                writer.WriteNumber("end_index", start + length);
                writer.WriteString("url", source.Url);
                writer.WriteString("title", source.Title);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        using var json = JsonDocument.Parse(buffer.ToArray());
        return json.RootElement.Clone();
    }

    private static (int Start, int Length)? Span(string text, string needle) =>
        text.IndexOf(needle, StringComparison.Ordinal) is var at and >= 0 ? (at, needle.Length) : null;

    public static Usage? Add(Usage? total, Usage? next) => (total, next) switch
    {
        (null, _) => next,
        (_, null) => total,
        _ => new Usage
        {
            PromptTokens = total.PromptTokens + next.PromptTokens,
            CompletionTokens = total.CompletionTokens + next.CompletionTokens,
            TotalTokens = total.TotalTokens + next.TotalTokens,
        },
    };

    /// <summary>The model calls of one searched answer, summed: attempts, usage, and who answered last.</summary>
    private sealed class ModelCalls(int attempts, ServedBy? servedBy, Usage? usage)
    {
        public int Attempts { get; private set; } = attempts;

        public ServedBy? ServedBy { get; private set; } = servedBy;

        public Usage? Usage { get; private set; } = usage;

        public void Add(int attempts, ServedBy? servedBy, Usage? usage)
        {
            Attempts += attempts;
            ServedBy = servedBy ?? ServedBy;
            Usage = WebSearchLoop.Add(Usage, usage);
        }
    }
}
