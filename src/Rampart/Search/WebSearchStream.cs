using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Rampart.Gateway;
using Rampart.OpenAI;
using Rampart.Providers;
using Rampart.Routing;

namespace Rampart.Search;

/// <summary>A search round that failed while streaming: a routing failure, or a query the guardrails refused.</summary>
internal sealed class SearchRoundException(ApiError error) : Exception(error.Message)
{
    public ApiError Error { get; } = error;
}

/// <summary>
/// The search loop, streamed: every round is streamed from the provider and its text goes to the caller as it is
/// generated; the gateway's own <c>web_search</c> calls are held back, run, and answered in a next round whose text
/// continues the same stream. Caller tool calls pass through (re-indexed); the round's finish and usage are held
/// until the last round, which ends with the citations and the summed usage. Only the first choice searches.
/// </summary>
internal sealed class WebSearchStream(Router router, RoutingRequest routing, ChatCompletionRequest upstream, WebSearch search, ISearchBackend backend, string piiMode)
{
    public ServedBy? ServedBy { get; private set; }

    public int Searches { get; private set; }

    public int Attempts { get; private set; }

    public List<SearchResult> Sources { get; } = [];

    /// <summary>The caller's chunks. Throws <see cref="SearchRoundException"/> for a failed round or a refused query.</summary>
    public async IAsyncEnumerable<ChatCompletionChunk> StreamAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var callerTools = upstream.Tools ?? [];
        var request = upstream with { StreamOptions = (upstream.StreamOptions ?? new StreamOptions()) with { IncludeUsage = true }, Tools = [.. callerTools, WebSearchLoop.Tool] };
        var messages = new List<ChatMessage>(upstream.Messages ?? []);
        var text = new StringBuilder();
        Usage? usage = null;
        ChatCompletionChunk? last = null;
        var callerCalls = 0;
        var roleSent = false;
        for (var round = 0; ; round++)
        {
            var final = round >= search.MaxRounds;
            var current = request with { Messages = [.. messages], ToolChoice = final && callerTools.Count == 0 ? WebSearchLoop.NoTools : request.ToolChoice };
            var routed = await router.StreamAsync(routing.Targets, routing.Policy, routing.CredentialFor, current, cancellationToken);
            Attempts += routed.Attempts;
            if (routed.Error is { } error)
            {
                throw new SearchRoundException(error.ToApiError());
            }

            ServedBy = routed.ServedBy;
            var ours = new Dictionary<int, (string? Id, StringBuilder Arguments)>();
            var theirs = new Dictionary<int, int>();
            var roundText = new StringBuilder();
            string? finish = null;
            await foreach (var chunk in routed.Value!.WithCancellation(cancellationToken))
            {
                last = chunk;
                if (chunk.Usage is { } reported)
                {
                    usage = WebSearchLoop.Add(usage, reported);
                }

                var choices = new List<ChunkChoice>();
                foreach (var choice in chunk.Choices)
                {
                    if (choice.Index != 0)
                    {
                        choices.Add(choice);
                        continue;
                    }

                    finish = choice.FinishReason ?? finish;
                    roundText.Append(choice.Delta.Content);
                    List<ToolCallDelta>? forwarded = null;
                    foreach (var call in choice.Delta.ToolCalls ?? [])
                    {
                        if (call.Function?.Name == WebSearchLoop.ToolName && !theirs.ContainsKey(call.Index))
                        {
                            ours.TryAdd(call.Index, (call.Id, new StringBuilder()));
                        }

                        if (ours.TryGetValue(call.Index, out var own))
                        {
                            own.Arguments.Append(call.Function?.Arguments);
                            continue;
                        }

                        if (!theirs.TryGetValue(call.Index, out var index))
                        {
                            theirs[call.Index] = index = callerCalls++;
                        }

                        (forwarded ??= []).Add(call with { Index = index });
                    }

                    // The role goes out with the first delta that carries something, so that nothing leaves before it must:
                    // a round that only searches sends no byte, and a refused query still gets its own status code.
                    var delta = choice.Delta with { ToolCalls = forwarded, Role = null, Content = string.IsNullOrEmpty(choice.Delta.Content) ? null : choice.Delta.Content };
                    if (delta.Content is not null || delta.ToolCalls is not null || delta.Refusal is not null || delta.ReasoningContent is not null)
                    {
                        choices.Add(choice with { Delta = roleSent ? delta : delta with { Role = "assistant" }, FinishReason = null });
                        roleSent = true;
                    }
                }

                if (choices.Count > 0)
                {
                    yield return chunk with { Choices = choices, Usage = null };
                }
            }

            text.Append(roundText);
            if (ours.Count == 0 || final || theirs.Count > 0)
            {
                var stopped = ours.Count > 0 && theirs.Count == 0;
                var closing = stopped && text.Length == 0 ? "I could not finish the web search for this question within the allowed number of searches." : null;
                var extra = Sources.Count > 0 && (text.Length > 0 || closing is not null)
                    ? new Dictionary<string, JsonElement> { ["annotations"] = WebSearchLoop.Annotations(text.Append(closing).ToString(), Sources) }
                    : null;
                var end = new ChatCompletionChunk
                {
                    Id = last?.Id ?? "", Created = last?.Created ?? 0, Model = last?.Model ?? "", SystemFingerprint = last?.SystemFingerprint,
                    Choices = [new ChunkChoice { Index = 0, Delta = new ChatDelta { Role = roleSent ? null : "assistant", Content = closing, Extra = extra }, FinishReason = stopped ? "stop" : finish ?? "stop" }],
                };
                yield return end;
                if (upstream.IncludeUsageInStream && usage is not null)
                {
                    yield return end with { Choices = [], Usage = usage };
                }

                yield break;
            }

            var calls = ours.OrderBy(o => o.Key)
                .Select(o => new ToolCall { Id = o.Value.Id, Type = "function", Function = new FunctionCall { Name = WebSearchLoop.ToolName, Arguments = o.Value.Arguments.ToString() } })
                .ToList();
            messages.Add(new ChatMessage { Role = "assistant", Content = roundText.Length > 0 ? MessageContent.FromText(roundText.ToString()) : null, ToolCalls = calls });
            foreach (var call in calls)
            {
                var (content, blocked, searched) = await WebSearchLoop.RunAsync(call, search, backend, piiMode, Sources, cancellationToken);
                if (blocked is not null)
                {
                    throw new SearchRoundException(blocked);
                }

                Searches += searched ? 1 : 0;
                messages.Add(new ChatMessage { Role = "tool", ToolCallId = call.Id, Content = MessageContent.FromText(content) });
            }
        }
    }
}
