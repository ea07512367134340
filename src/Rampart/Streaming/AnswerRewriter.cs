using Rampart.Guardrails;
using Rampart.Guardrails.Rules;
using Rampart.OpenAI;

namespace Rampart.Streaming;

/// <summary>
/// Applies output scanning and placeholder restoration to a model's answer: to a whole <see cref="ChatCompletion"/>,
/// or chunk by chunk to a stream, with one <see cref="TextLane"/> per choice's content, reasoning, refusal and per
/// tool call's arguments, so a placeholder split across chunks, interleaved with other choices or inside tool-call
/// arguments is still restored.
/// </summary>
internal sealed class AnswerRewriter
{
    private readonly OutputScanner? _scanner;
    private readonly PiiVault? _vault;
    private readonly CanaryTrap? _canary;
    private readonly Dictionary<(int Choice, int Field, int Tool), TextLane> _lanes = [];
    private ChatCompletionChunk? _last;

    private const int Content = 0;
    private const int Reasoning = 1;
    private const int Refusal = 2;
    private const int ToolArguments = 3;

    private AnswerRewriter(OutputScanner? scanner, PiiVault? vault, CanaryTrap? canary)
    {
        _scanner = scanner;
        _vault = vault;
        _canary = canary;
    }

    /// <summary>Null when there is nothing to do, so the plain relay path stays untouched.</summary>
    public static AnswerRewriter? Create(OutputScanner? scanner, PiiVault? vault, CanaryTrap? canary = null) =>
        scanner is null && (vault is null || vault.Count == 0) && canary is null ? null : new AnswerRewriter(scanner, vault, canary);

    public OutputScanner? Scanner => _scanner;

    /// <summary>The answer with its texts checked and restored; the answer itself (sent as the provider's bytes) when that changed nothing.</summary>
    public ChatCompletion Rewrite(ChatCompletion completion)
    {
        var rewritten = RewriteTexts(completion);
        for (var i = 0; i < completion.Choices.Count; i++)
        {
            if (!SameText(completion.Choices[i].Message, rewritten.Choices[i].Message))
            {
                return rewritten;
            }
        }

        return completion;
    }

    private ChatCompletion RewriteTexts(ChatCompletion completion) => completion with
    {
        Choices = [.. completion.Choices.Select(choice => choice with
        {
            Message = choice.Message with
            {
                Content = choice.Message.Content is { Text: { } text } content
                    ? content with { Text = Whole(choice.Index, Content, 0, text) }
                    : choice.Message.Content,
                ReasoningContent = WholeOrNull(choice.Index, Reasoning, 0, choice.Message.ReasoningContent),
                Refusal = WholeOrNull(choice.Index, Refusal, 0, choice.Message.Refusal),
                ToolCalls = choice.Message.ToolCalls?.Select((call, k) => call.Function?.Arguments is { } arguments
                    ? call with { Function = call.Function with { Arguments = Whole(choice.Index, ToolArguments, k, arguments) } }
                    : call).ToList(),
            },
        })],
    };

    /// <summary>
    /// The chunk as it may leave now, or null when everything in it is being held back. A chunk that comes through
    /// unchanged (the usual case when only placeholders are restored) is returned as it came, so it is sent as the
    /// provider's bytes rather than serialised again.
    /// </summary>
    public ChatCompletionChunk? Rewrite(ChatCompletionChunk chunk)
    {
        _last = chunk;
        List<ChunkChoice>? choices = null; // made on the first choice that changes: until then, the chunk's own
        for (var c = 0; c < chunk.Choices.Count; c++)
        {
            var choice = chunk.Choices[c];
            var delta = choice.Delta;
            var i = choice.Index;
            var finished = choice.FinishReason is not null;
            var content = Through(i, Content, 0, delta.Content, finished);
            var reasoning = Through(i, Reasoning, 0, delta.ReasoningContent, finished);
            var refusal = Through(i, Refusal, 0, delta.Refusal, finished);
            var tools = ToolCalls(i, delta.ToolCalls, finished);
            var rewritten = content == delta.Content && reasoning == delta.ReasoningContent && refusal == delta.Refusal && SameArguments(delta.ToolCalls, tools)
                ? delta
                : delta with { Content = content, ReasoningContent = reasoning, Refusal = refusal, ToolCalls = tools };
            var kept = !IsEmpty(rewritten) || finished || choice.Logprobs is not null || choice.Extra is { Count: > 0 };
            if (choices is null && kept && ReferenceEquals(rewritten, delta))
            {
                continue;
            }

            choices ??= [.. chunk.Choices.Take(c)];
            if (kept)
            {
                choices.Add(ReferenceEquals(rewritten, delta) ? choice : choice with { Delta = rewritten });
            }
        }

        return choices is null ? chunk
            : choices.Count == 0 && chunk.Usage is null && chunk.Choices.Count > 0 ? null
            : chunk with { Choices = choices };
    }

    /// <summary>Anything still held when the stream ends without a finish reason, as final chunks.</summary>
    public IEnumerable<ChatCompletionChunk> Flush()
    {
        foreach (var choice in _lanes.Where(l => l.Value.HasPending).Select(l => l.Key.Choice).Distinct().Order().ToList())
        {
            var delta = new ChatDelta
            {
                Content = FlushLane(choice, Content, 0),
                ReasoningContent = FlushLane(choice, Reasoning, 0),
                Refusal = FlushLane(choice, Refusal, 0),
                ToolCalls = FlushTools(choice, []),
            };
            yield return new ChatCompletionChunk
            {
                Id = _last?.Id ?? "",
                Created = _last?.Created ?? 0,
                Model = _last?.Model ?? "",
                Choices = [new ChunkChoice { Index = choice, Delta = delta }],
            };
        }
    }

    private string Whole(int choice, int field, int tool, string text)
    {
        var lane = Lane(choice, field, tool);
        return lane.Push(text) + lane.Flush();
    }

    private string? WholeOrNull(int choice, int field, int tool, string? text) => text is null ? null : Whole(choice, field, tool, text);

    private string? Through(int choice, int field, int tool, string? text, bool finished)
    {
        var lane = text is null && !_lanes.ContainsKey((choice, field, tool)) ? null : Lane(choice, field, tool);
        if (lane is null)
        {
            return null;
        }

        var output = text is null ? "" : lane.Push(text);
        if (finished)
        {
            output += lane.Flush();
        }

        // Keep an explicit empty string only where the provider sent one (the opening role chunk does).
        return output.Length == 0 && text is not "" ? null : output;
    }

    private List<ToolCallDelta>? ToolCalls(int choice, IReadOnlyList<ToolCallDelta>? calls, bool finished)
    {
        List<ToolCallDelta>? result = null;
        if (calls is not null)
        {
            result = [];
            foreach (var call in calls)
            {
                var arguments = call.Function?.Arguments is { } a ? Lane(choice, ToolArguments, call.Index).Push(a) : null;
                result.Add(call with { Function = call.Function is null ? null : call.Function with { Arguments = arguments ?? (call.Function.Arguments is null ? null : "") } });
            }
        }

        return finished ? FlushTools(choice, result ?? []) : result;
    }

    /// <summary>Releases held tool-call arguments of a choice into <paramref name="calls"/> (same index merged).</summary>
    private List<ToolCallDelta>? FlushTools(int choice, List<ToolCallDelta> calls)
    {
        foreach (var ((c, field, tool), lane) in _lanes)
        {
            if (c != choice || field != ToolArguments || !lane.HasPending)
            {
                continue;
            }

            var rest = lane.Flush();
            var at = calls.FindIndex(t => t.Index == tool);
            if (at >= 0)
            {
                var call = calls[at];
                calls[at] = call with { Function = (call.Function ?? new FunctionCall()) with { Arguments = (call.Function?.Arguments ?? "") + rest } };
            }
            else
            {
                calls.Add(new ToolCallDelta { Index = tool, Function = new FunctionCall { Arguments = rest } });
            }
        }

        return calls.Count == 0 ? null : calls;
    }

    private string? FlushLane(int choice, int field, int tool) =>
        _lanes.TryGetValue((choice, field, tool), out var lane) && lane.HasPending ? lane.Flush() : null;

    private TextLane Lane(int choice, int field, int tool)
    {
        if (!_lanes.TryGetValue((choice, field, tool), out var lane))
        {
            lane = _lanes[(choice, field, tool)] = new TextLane(_scanner, _vault, _canary);
        }

        return lane;
    }

    /// <summary>Whether a message's texts came through rewriting as they were (the rewritten message is a copy either way).</summary>
    private static bool SameText(ChatMessage original, ChatMessage rewritten) =>
        original.Content?.Text == rewritten.Content?.Text && original.ReasoningContent == rewritten.ReasoningContent
        && original.Refusal == rewritten.Refusal
        && SameEach(original.ToolCalls, rewritten.ToolCalls, static (a, b) => a.Function?.Arguments == b.Function?.Arguments);

    /// <summary>Whether tool-call deltas came through rewriting with the same arguments (the list is a copy either way).</summary>
    private static bool SameArguments(IReadOnlyList<ToolCallDelta>? before, List<ToolCallDelta>? after) =>
        SameEach(before, after, static (a, b) => a.Index == b.Index && a.Function?.Arguments == b.Function?.Arguments);

    private static bool SameEach<T>(IReadOnlyList<T>? before, IReadOnlyList<T>? after, Func<T, T, bool> same)
    {
        if (before is null || after is null)
        {
            return before is null && after is null;
        }

        if (before.Count != after.Count)
        {
            return false;
        }

        for (var i = 0; i < before.Count; i++)
        {
            if (!same(before[i], after[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsEmpty(ChatDelta delta) =>
        delta.Role is null && delta.Content is null && delta.ReasoningContent is null && delta.Refusal is null
        && (delta.ToolCalls is null || delta.ToolCalls.Count == 0) && delta.Extra is not { Count: > 0 };
}
