using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Rampart.Gateway;
using Rampart.OpenAI;
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
/// continues the same stream. Caller tool calls pass through (re-indexed); a choice's finish is held until its last
/// round, which ends with its citations. With <c>n</c> &gt; 1 the first round streams every choice at once; each
/// choice that searched then continues alone (<c>n</c> = 1, re-indexed to its own index), one after the other, so
/// one choice's searches never hold up the text of another that already answered. Usage, summed, comes last.
/// </summary>
internal sealed class WebSearchStream(Router router, RoutingRequest routing, ChatCompletionRequest upstream, SearchSession session)
{
    private Usage? _usage;
    private ChatCompletionChunk? _last;

    public ServedBy? ServedBy { get; private set; }

    public int Attempts { get; private set; }

    /// <summary>The caller's chunks. Throws <see cref="SearchRoundException"/> for a failed round or a refused query.</summary>
    public async IAsyncEnumerable<ChatCompletionChunk> StreamAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var messages = upstream.Messages ?? [];
        var sources = new List<SearchResult>();
        if (session.SearchFirst)
        {
            (messages, var refused) = await session.SearchFirstAsync(messages, sources, cancellationToken);
            if (refused is not null)
            {
                throw new SearchRoundException(refused);
            }
        }

        var request = WebSearchLoop.Offer(upstream, session) with
        {
            Messages = messages,
            StreamOptions = (upstream.StreamOptions ?? new StreamOptions()) with { IncludeUsage = true },
        };
        var choices = new SortedDictionary<int, ChoiceStream>();
        ChoiceStream ChoiceAt(int index) =>
            choices.TryGetValue(index, out var known) ? known : choices[index] = new ChoiceStream(index, [.. messages], [.. sources]);

        await foreach (var chunk in RoundAsync(request, ChoiceAt, cancellationToken))
        {
            yield return chunk;
        }

        var searching = choices.Values.Where(c => c.WantsSearch(session.MaxRounds)).ToList();
        foreach (var answered in choices.Values.Except(searching))
        {
            yield return answered.End(_last);
        }

        foreach (var choice in searching)
        {
            while (choice.WantsSearch(session.MaxRounds))
            {
                foreach (var call in choice.TakeOwnCalls())
                {
                    var (content, blocked) = await session.RunAsync(call, choice.Sources, cancellationToken);
                    if (blocked is not null)
                    {
                        throw new SearchRoundException(blocked);
                    }

                    choice.Messages.Add(new ChatMessage { Role = "tool", ToolCallId = call.Id, Content = MessageContent.FromText(content) });
                }

                var next = WebSearchLoop.Continue(request, upstream, [.. choice.Messages], lastRound: choice.Rounds >= session.MaxRounds);
                await foreach (var chunk in RoundAsync(next, index => index == 0 ? choice : null, cancellationToken))
                {
                    yield return chunk;
                }
            }

            yield return choice.End(_last);
        }

        if (upstream.IncludeUsageInStream && _usage is not null)
        {
            yield return new ChatCompletionChunk { Id = _last?.Id ?? "", Created = _last?.Created ?? 0, Model = _last?.Model ?? "", SystemFingerprint = _last?.SystemFingerprint, Usage = _usage };
        }
    }

    /// <summary>One model call streamed: each choice's deltas through its <see cref="ChoiceStream"/>, which holds back the gateway's calls and the finish.</summary>
    private async IAsyncEnumerable<ChatCompletionChunk> RoundAsync(ChatCompletionRequest request, Func<int, ChoiceStream?> choiceAt,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var routed = await router.StreamAsync(routing.Targets, routing.Policy, routing.CredentialFor, request, cancellationToken);
        Attempts += routed.Attempts;
        if (routed.Error is { } error)
        {
            throw new SearchRoundException(error.ToApiError());
        }

        ServedBy = routed.ServedBy;
        await foreach (var chunk in routed.Value!.WithCancellation(cancellationToken))
        {
            _last = chunk;
            if (chunk.Usage is { } reported)
            {
                _usage = WebSearchLoop.Add(_usage, reported);
            }

            var forwarded = chunk.Choices.Select(c => choiceAt(c.Index)?.Accept(c)).OfType<ChunkChoice>().ToList();
            if (forwarded.Count > 0)
            {
                yield return chunk with { Choices = forwarded, Usage = null };
            }
        }
    }

    /// <summary>One choice's conversation as it streams: its messages and sources, its text so far, and what the current round asked for.</summary>
    private sealed class ChoiceStream(int index, List<ChatMessage> messages, List<SearchResult> sources)
    {
        private readonly StringBuilder _text = new();
        private readonly StringBuilder _roundText = new();
        private readonly Dictionary<int, (string? Id, StringBuilder Arguments)> _ours = [];
        private readonly Dictionary<int, int> _theirs = [];
        private string? _finish;
        private int _callerCalls;
        private bool _roleSent;

        public List<ChatMessage> Messages => messages;

        public List<SearchResult> Sources => sources;

        /// <summary>Rounds of searches run so far.</summary>
        public int Rounds { get; private set; }

        /// <summary>The round asked only for the gateway's searches, and rounds are left for them.</summary>
        public bool WantsSearch(int maxRounds) => _ours.Count > 0 && _theirs.Count == 0 && Rounds < maxRounds;

        /// <summary>This choice's part of a chunk as the caller gets it (at its own index), or null when nothing in it is for the caller.</summary>
        public ChunkChoice? Accept(ChunkChoice choice)
        {
            _finish = choice.FinishReason ?? _finish;
            _roundText.Append(choice.Delta.Content);
            _text.Append(choice.Delta.Content);
            List<ToolCallDelta>? forwarded = null;
            foreach (var call in choice.Delta.ToolCalls ?? [])
            {
                if (call.Function?.Name == WebSearchLoop.ToolName && !_theirs.ContainsKey(call.Index))
                {
                    _ours.TryAdd(call.Index, (call.Id, new StringBuilder()));
                }

                if (_ours.TryGetValue(call.Index, out var own))
                {
                    own.Arguments.Append(call.Function?.Arguments);
                    continue;
                }

                if (!_theirs.TryGetValue(call.Index, out var at))
                {
                    _theirs[call.Index] = at = _callerCalls++;
                }

                (forwarded ??= []).Add(call with { Index = at });
            }

            // The role goes out with the first delta that carries something, so that nothing leaves before it must:
            // a round that only searches sends no byte, and a refused query still gets its own status code.
            var delta = choice.Delta with { ToolCalls = forwarded, Role = null, Content = string.IsNullOrEmpty(choice.Delta.Content) ? null : choice.Delta.Content };
            if (delta.Content is null && delta.ToolCalls is null && delta.Refusal is null && delta.ReasoningContent is null)
            {
                return null;
            }

            var outgoing = choice with { Index = index, Delta = _roleSent ? delta : delta with { Role = "assistant" }, FinishReason = null };
            _roleSent = true;
            return outgoing;
        }

        /// <summary>The round's searches, recorded as the assistant's turn; the next round starts empty.</summary>
        public List<ToolCall> TakeOwnCalls()
        {
            var calls = _ours.OrderBy(o => o.Key)
                .Select(o => new ToolCall { Id = o.Value.Id, Type = "function", Function = new FunctionCall { Name = WebSearchLoop.ToolName, Arguments = o.Value.Arguments.ToString() } })
                .ToList();
            messages.Add(new ChatMessage { Role = "assistant", Content = _roundText.Length > 0 ? MessageContent.FromText(_roundText.ToString()) : null, ToolCalls = calls });
            _ours.Clear();
            _roundText.Clear();
            _finish = null;
            Rounds++;
            return calls;
        }

        /// <summary>The choice's last chunk: its finish and its citations (or, cut off while still searching, a plain sentence saying so).</summary>
        public ChatCompletionChunk End(ChatCompletionChunk? last)
        {
            var stopped = _ours.Count > 0 && _theirs.Count == 0;
            var closing = stopped && _text.Length == 0 ? WebSearchLoop.CouldNotFinish : null;
            var extra = sources.Count > 0 && (_text.Length > 0 || closing is not null)
                ? new Dictionary<string, JsonElement> { ["annotations"] = WebSearchLoop.Annotations(_text.Append(closing).ToString(), sources) }
                : null;
            return new ChatCompletionChunk
            {
                Id = last?.Id ?? "", Created = last?.Created ?? 0, Model = last?.Model ?? "", SystemFingerprint = last?.SystemFingerprint,
                Choices = [new ChunkChoice { Index = index, Delta = new ChatDelta { Role = _roleSent ? null : "assistant", Content = closing, Extra = extra }, FinishReason = stopped ? "stop" : _finish ?? "stop" }],
            };
        }
    }
}
