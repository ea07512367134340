using Rampart.OpenAI;

namespace Rampart.Workspaces;

/// <summary>
/// What the workspace's policy makes of a (guarded) request: the system prompt in effect, the effective
/// web-search flag, and the request as the provider will see it.
/// </summary>
internal sealed record ChatPlan(ChatCompletionRequest Upstream, bool WebSearch, bool CustomSystemPrompt)
{
    public static ChatPlan Create(ChatCompletionRequest request, ModelRoute route)
    {
        var messages = request.Messages ?? [];
        var customSystemPrompt = request.System is not null || messages.Any(m => m.Role is "system" or "developer");

        // A caller's own system prompt replaces the workspace persona; the `system` field goes first of all.
        var systemText = request.System ?? (customSystemPrompt ? null : route.Workspace.Policy.Persona);
        IReadOnlyList<ChatMessage> effective = string.IsNullOrEmpty(systemText)
            ? messages
            : [ChatMessage.FromText("system", systemText), .. messages];

        var upstream = request with
        {
            Model = route.Model,
            Messages = effective,
            Pii = null,
            WebSearch = null,
            System = null,
        };

        // The seed: web_search defaults to true unless a custom system prompt is used; the workspace can switch it off.
        var webSearch = route.Workspace.Policy.WebSearch && (request.WebSearch ?? !customSystemPrompt);
        return new ChatPlan(upstream, webSearch, customSystemPrompt);
    }

    /// <summary>The stricter of the request's mode and the workspace minimum: disabled &lt; obfuscate &lt; block.</summary>
    public static string StricterPii(string? requested, string minimum)
    {
        static int Rank(string? mode) => Array.IndexOf(ChatRequestValidator.PiiModes, mode ?? "disabled");
        return Rank(requested) >= Rank(minimum) ? requested ?? "disabled" : minimum;
    }
}
