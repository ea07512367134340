using Rampart.Auth;
using Rampart.Limits;
using Rampart.OpenAI;
using Rampart.Providers;
using Rampart.Routing;
using Rampart.Workspaces;

namespace Rampart.Guardrails.Rules;

/// <summary>
/// A workspace's firewall rules on one request, cheapest first: allowed hours (403), prompt-injection tripwires
/// (flag, or 400), blocked topics (400), volume limits (429, reserving the request), then the optional topic judge —
/// which costs a model call, so it runs only for a request that would otherwise go ahead and has been counted.
/// Every decision is recorded as a verdict; the outcome travels with the request in a <see cref="FirewallPass"/>.
/// </summary>
internal sealed class Firewall(IVolumeLimiter limiter, IPriceTable prices, TopicJudge judge, TimeProvider time)
{
    /// <summary>Completion tokens assumed for a request without <c>max_tokens</c>, until its usage is known.</summary>
    public const int DefaultCompletionEstimate = 500;

    public async Task<FirewallPass> AdmitAsync(Caller caller, ModelRoute route, ChatCompletionRequest request,
        Func<string, ProviderCredential?> credentialFor, CancellationToken cancellationToken)
    {
        var policy = route.Workspace.Policy;
        var limits = policy.Limits;
        var tripwires = policy.Tripwires ?? new TripwirePolicy();
        var needsUsage = limits is not null && (limits.HasTokenLimits || limits.MonthlyBudgetUsd is not null);
        var pass = new FirewallPass(limiter, prices, tripwires.UsesCanary ? CanaryTrap.Create() : null, needsUsage, request.IncludeUsageInStream);

        if (policy.AllowedHours?.Closed(time.GetUtcNow(), route.Workspace.Name) is { } closed)
        {
            return pass.Refuse("Outside allowed hours", ApiError.PermissionDenied(closed.Message, "outside_allowed_hours") with { RetryAfter = closed.UntilOpen });
        }

        // The caller's texts (with a location string each) only when a rule reads them: most workspaces have none.
        var readsText = tripwires.Mode != TripwirePolicy.Off || policy.BlockedTopics is { Count: > 0 } || policy.TopicJudge is not null;
        List<CallerText> texts = readsText ? [.. CallerTexts.Of(request, includeToolResults: true)] : [];
        if (tripwires.Mode != TripwirePolicy.Off)
        {
            var hits = InjectionTripwires.Inspect(texts);
            var block = tripwires.Mode == TripwirePolicy.Block;
            foreach (var hit in hits)
            {
                pass.Verdict($"Prompt injection {(block ? "blocked" : "flagged")}: {hit.Kind}");
            }

            if (block && hits.Count > 0)
            {
                var listed = string.Join("; ", hits.Select(h => $"{h.Kind} in {h.Location}"));
                return pass.Refuse(null, ApiError.InvalidRequest(
                    $"Blocked by prompt-injection tripwire: {listed}. Nothing was sent to the model provider.", hits[0].Location, "prompt_injection_detected"));
            }
        }

        var ownText = texts.Count == 0 ? texts : OwnTexts(request, texts);
        if (TopicRules.FirstMatch(policy.BlockedTopics ?? [], ownText) is var (rule, location))
        {
            return pass.Refuse($"Blocked by rule '{rule.Name}'", ContentPolicy($"Blocked by rule '{rule.Name}' ({location}).", location));
        }

        if (limits is not null)
        {
            var estimate = EstimateTokens(request, limits);
            var decision = await limiter.AcquireAsync(new LimitRequest(route.Workspace.Id, caller.User.Id, caller.KeyId, limits, estimate.Total), cancellationToken);
            pass.Limited(decision, estimate);
            if (decision.Unavailable)
            {
                return pass.Refuse("Volume limits unavailable: refused", new ApiError(StatusCodes.Status503ServiceUnavailable,
                    $"Workspace '{route.Workspace.Name}' has volume limits, and the gateway cannot check them right now. Try again in {RateLimitHeaders.Duration(decision.RetryAfter)}.",
                    "api_error", null, "limits_unavailable") { RetryAfter = decision.RetryAfter });
            }

            if (!decision.Allowed)
            {
                return pass.Refuse($"Rate limited: {decision.Exceeded}", new ApiError(StatusCodes.Status429TooManyRequests,
                    $"Rate limit reached for workspace '{route.Workspace.Name}': {decision.Exceeded}. Try again in {RateLimitHeaders.Duration(decision.RetryAfter)}.",
                    decision.TokensExceeded ? "tokens" : "requests", null, "rate_limit_exceeded") { RetryAfter = decision.RetryAfter });
            }
        }

        if (policy.TopicJudge is { } judgePolicy && ownText.Count > 0)
        {
            var verdict = await judge.ClassifyAsync(judgePolicy, ownText, credentialFor, cancellationToken);
            if (verdict.Topic is { } topic)
            {
                await pass.SettleAsync(CancellationToken.None);
                return pass.Refuse($"Blocked by rule '{judgePolicy.Name}'", ContentPolicy($"Blocked by rule '{judgePolicy.Name}' (topic: {topic}).", null));
            }

            if (verdict.Failed && judgePolicy.OnFailure == TopicJudgePolicy.Block)
            {
                await pass.SettleAsync(CancellationToken.None);
                return pass.Refuse($"Topic judge '{judgePolicy.Name}' unavailable: blocked (fail-closed)", new ApiError(StatusCodes.Status503ServiceUnavailable,
                    $"The topic judge '{judgePolicy.Name}' could not check this request, and workspace '{route.Workspace.Name}' does not let unchecked requests through. Try again shortly.",
                    "api_error", null, "topic_judge_unavailable"));
            }

            if (verdict.Failed)
            {
                pass.Verdict($"Topic judge '{judgePolicy.Name}' unavailable: allowed (fail-open)");
            }
        }

        return pass;
    }

    /// <summary>Before the provider reports usage: about four characters a token for the prompt, plus the completion's cap.</summary>
    internal static (long Prompt, long Completion, long Total) EstimateTokens(ChatCompletionRequest request, VolumeLimits limits)
    {
        long characters = (request.System?.Length ?? 0) + (request.Messages ?? []).Sum(m => (long)(m.Content?.JoinedText().Length ?? 0) + (m.ToolCalls?.Sum(t => t.Function?.Arguments?.Length ?? 0) ?? 0));
        var prompt = (characters / 4) + 1;
        long completion = request.MaxCompletionTokens ?? request.MaxTokens ?? limits.DefaultCompletionTokens ?? DefaultCompletionEstimate;
        completion *= Math.Max(1, request.N ?? 1);
        return (prompt, completion, prompt + completion);
    }

    /// <summary>The texts the caller wrote, without the tool results they pass on (a loop: no closure on every request).</summary>
    private static List<CallerText> OwnTexts(ChatCompletionRequest request, List<CallerText> texts)
    {
        var own = new List<CallerText>(texts.Count);
        foreach (var text in texts)
        {
            if (!IsToolResult(request, text))
            {
                own.Add(text);
            }
        }

        return own;
    }

    private static bool IsToolResult(ChatCompletionRequest request, CallerText text) =>
        text.Location.StartsWith("messages[", StringComparison.Ordinal)
        && int.TryParse(text.Location.AsSpan(9, text.Location.IndexOf(']', StringComparison.Ordinal) - 9), out var index)
        && request.Messages![index].Role == "tool";

    private static ApiError ContentPolicy(string verdict, string? location) =>
        ApiError.InvalidRequest($"{verdict} This workspace does not allow the topic. Nothing was sent to the model provider.", location, "content_policy_violation");
}
