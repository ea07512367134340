using Rampart.Limits;
using Rampart.OpenAI;
using Rampart.Routing;

namespace Rampart.Guardrails.Rules;

/// <summary>
/// The firewall's outcome for one request: refused (with the error to send) or admitted; every verdict, in words
/// fit for the audit log and the <c>x-rampart-firewall</c> header (rule names and kinds, never the caller's text);
/// the canary to place and watch for; and the volume-limit reservation, settled with the provider's reported usage.
/// </summary>
internal sealed class FirewallPass(IVolumeLimiter limiter, IPriceTable prices, CanaryTrap? canary, bool needsUsage, bool callerWantsUsage)
{
    public const string CanaryLeakVerdict = "Prompt injection flagged: canary leaked in answer";

    private readonly List<string> _verdicts = [];
    private LimitDecision? _limits;
    private (long Prompt, long Completion, long Total) _estimate;
    private ServedBy? _served;
    private bool _settled;

    public ApiError? Refused { get; private set; }

    public CanaryTrap? Canary => canary;

    /// <summary>Token limits or a budget apply, so a stream must report its usage (asked for upstream when the caller did not).</summary>
    public bool NeedsUsage => needsUsage;

    /// <summary>Every decision, e.g. "Blocked by rule 'no-legal-advice'", "Prompt injection flagged: instruction override".</summary>
    public IReadOnlyList<string> Verdicts => canary is { Leaks: > 0 } ? [.. _verdicts, CanaryLeakVerdict] : _verdicts;

    /// <summary><c>x-rampart-firewall</c> with the verdicts, and OpenAI's <c>x-ratelimit-*</c> headers where limits apply. Safe to call again later.</summary>
    public void WriteHeaders(HttpResponse response)
    {
        if (response.HasStarted)
        {
            return;
        }

        if (Verdicts.Count > 0)
        {
            // Header values must be ASCII; rule names are, topic and zone names might not be.
            response.Headers["x-rampart-firewall"] = new string([.. string.Join("; ", Verdicts).Select(c => c is >= ' ' and <= '~' ? c : '?')]);
        }

        if (_limits is not null)
        {
            RateLimitHeaders.Write(response, _limits);
        }
    }

    /// <summary>
    /// Settles with a streamed chunk's usage, and returns the chunk to pass on: a usage chunk the caller did not ask
    /// for is dropped (or its usage removed, when it carries choices too).
    /// </summary>
    public async ValueTask<ChatCompletionChunk?> MeteredAsync(ChatCompletionChunk chunk, ServedBy served)
    {
        if (chunk.Usage is not { } usage)
        {
            return chunk;
        }

        await SettleAsync(served, usage, CancellationToken.None);
        if (callerWantsUsage || !needsUsage)
        {
            return chunk;
        }

        return chunk.Choices.Count == 0 ? null : chunk with { Usage = null };
    }

    /// <summary>A stream opened: from now on the request counts as answered, with its estimate unless usage comes.</summary>
    public void Answered(ServedBy served) => _served = served;

    /// <summary>The end of the request: settles what is not settled yet (no tokens if the provider never answered).</summary>
    public ValueTask SettleAsync(CancellationToken cancellationToken) => SettleAsync(_served, null, cancellationToken);

    /// <summary>
    /// Replaces the token estimate with the reported usage and counts the cost against the budget — before the answer
    /// leaves, so the caller's next request already sees it. Not answered (the provider failed): no tokens. Answered
    /// without usage (a stream cut short, a provider that reports none): the estimate stands. Runs once.
    /// </summary>
    public async ValueTask SettleAsync(ServedBy? served, Usage? usage, CancellationToken cancellationToken)
    {
        if (_settled || _limits?.Ticket is not { } ticket)
        {
            return;
        }

        _settled = true;
        if (served is null)
        {
            await limiter.SettleAsync(ticket, 0, 0, cancellationToken);
            return;
        }

        usage ??= new Usage { PromptTokens = (int)_estimate.Prompt, CompletionTokens = (int)_estimate.Completion, TotalTokens = (int)_estimate.Total };
        var tokens = usage.TotalTokens > 0 ? usage.TotalTokens : usage.PromptTokens + usage.CompletionTokens;
        var cost = served.StandsInFor is null ? prices.CostUsd(served.Provider.Name, served.Target.Model, usage) : 0;
        await limiter.SettleAsync(ticket, tokens, cost, cancellationToken);
    }

    internal void Verdict(string verdict) => _verdicts.Add(verdict);

    internal void Limited(LimitDecision decision, (long Prompt, long Completion, long Total) estimate) => (_limits, _estimate) = (decision, estimate);

    internal FirewallPass Refuse(string? verdict, ApiError error)
    {
        if (verdict is not null)
        {
            _verdicts.Add(verdict);
        }

        Refused = error;
        return this;
    }
}
