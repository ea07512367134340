using Rampart.OpenAI;

namespace Rampart.Workspaces;

/// <summary>
/// What the workspace's policy makes of a (guarded) request: the system prompt in effect, the effective
/// web-search flag, and the request as the provider will see it.
/// </summary>
internal sealed record ChatPlan(ChatCompletionRequest Upstream, bool WebSearch, bool CustomSystemPrompt)
{
    /// <param name="canaryNote">The firewall's canary, sent with the enforced guideline.</param>
    /// <param name="requireUsage">Ask a stream to report its usage even when the caller did not (token limits need it).</param>
    /// <param name="searchAvailable">Whether the gateway has a search backend: without one, web search is off whatever was asked.</param>
    public static ChatPlan Create(ChatCompletionRequest request, ModelRoute route, string? canaryNote = null, bool requireUsage = false, bool searchAvailable = true)
    {
        var messages = request.Messages ?? [];
        var customSystemPrompt = request.System is not null || HasSystemMessage(messages);

        // A caller's own system prompt replaces the workspace persona; the `system` field goes first of all, after
        // the workspace's enforced guideline, which nothing replaces.
        var systemText = request.System ?? (customSystemPrompt ? null : route.Workspace.Policy.Persona);
        var guideline = route.Workspace.Policy.Guideline;
        var enforced = string.IsNullOrEmpty(guideline) ? canaryNote
            : string.IsNullOrEmpty(canaryNote) ? guideline
            : guideline + "\n\n" + canaryNote;
        var effective = string.IsNullOrEmpty(enforced) && string.IsNullOrEmpty(systemText)
            ? messages
            : (IReadOnlyList<ChatMessage>)
            [
                .. string.IsNullOrEmpty(enforced) ? Array.Empty<ChatMessage>() : [ChatMessage.FromText("system", enforced)],
                .. string.IsNullOrEmpty(systemText) ? Array.Empty<ChatMessage>() : [ChatMessage.FromText("system", systemText)],
                .. messages,
            ];

        var upstream = request with
        {
            Model = route.Model,
            Messages = effective,
            StreamOptions = requireUsage && request.IsStreaming ? (request.StreamOptions ?? new StreamOptions()) with { IncludeUsage = true } : request.StreamOptions,
            Pii = null,
            WebSearch = null,
            System = null,
            PiiRestore = null,
        };

        // The seed: web_search defaults to true unless a custom system prompt is used; the workspace can switch it off.
        var webSearch = searchAvailable && route.Workspace.Policy.WebSearch && (request.WebSearch ?? !customSystemPrompt);
        return new ChatPlan(upstream, webSearch, customSystemPrompt);
    }

    private static bool HasSystemMessage(IReadOnlyList<ChatMessage> messages)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            if (messages[i].Role is "system" or "developer")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether this request's obfuscated PII comes back restored, or why the request may not ask for it.</summary>
    public static (bool Restore, ApiError? Error) PiiRestoration(ChatCompletionRequest request, Workspace workspace) =>
        workspace.Policy.PiiRestore switch
        {
            PiiRestoreModes.Always => (request.PiiRestore != false, null),
            PiiRestoreModes.OnRequest => (request.PiiRestore == true, null),
            _ when request.PiiRestore == true => (false, ApiError.InvalidRequest(
                $"Workspace '{workspace.Name}' does not allow restoring obfuscated PII in answers.", "pii_restore", "pii_restore_not_allowed")),
            _ => (false, null),
        };

    /// <summary>
    /// Why a workspace that scans answers refuses log probabilities: they carry the answer's tokens as the model wrote
    /// them, where a secret or a person's data redacted from the text would still be read, token by token.
    /// </summary>
    public static ApiError? LogprobsRefusal(ChatCompletionRequest request, Workspace workspace) =>
        workspace.Policy.ScanOutput && request.Logprobs == true
            ? ApiError.InvalidRequest(
                $"Workspace '{workspace.Name}' scans answers for secrets and personal data, and log probabilities would carry the answer's text unscanned: 'logprobs' is not available in it.",
                "logprobs", "logprobs_not_allowed")
            : null;

    /// <summary>The stricter of the request's mode and the workspace minimum: disabled &lt; obfuscate &lt; block.</summary>
    public static string StricterPii(string? requested, string minimum)
    {
        static int Rank(string? mode) => Array.IndexOf(ChatRequestValidator.PiiModes, mode ?? "disabled");
        return Rank(requested) >= Rank(minimum) ? requested ?? "disabled" : minimum;
    }
}
