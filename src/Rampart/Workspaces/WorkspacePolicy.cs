using Rampart.Guardrails.Rules;
using Rampart.Limits;
using Rampart.Search;

namespace Rampart.Workspaces;

/// <summary>
/// A workspace's configuration, stored as one JSON document so that later capabilities (guardrails, rules,
/// routing) extend it without schema churn. Validated whenever it is saved.
/// </summary>
// Settable, not init-only, on purpose: System.Text.Json's source generator sets every init-only property at
// construction, so a field missing from a stored policy (one saved before the field existed) would become null
// instead of keeping its default. With setters only the fields present are set.
internal sealed record WorkspacePolicy
{
    public const string DefaultPersona = "You are a helpful assistant. Answer accurately and concisely.";

    /// <summary>Provider name, e.g. <c>openai</c>, <c>xai</c>, <c>deepseek</c>, or <c>local</c> for the offline demo.</summary>
    public string Provider { get; set; } = "openai";

    public string Model { get; set; } = "gpt-4o-mini";

    /// <summary>The default system prompt; a caller's own system prompt replaces it.</summary>
    // Written even when null: "no persona" must survive a round trip instead of falling back to the default.
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)]
    public string? Persona { get; set; } = DefaultPersona;

    /// <summary>The least PII mode a request runs with: a request can ask for more, never for less.</summary>
    public string Pii { get; set; } = "disabled";

    /// <summary>
    /// Whether obfuscated PII is put back into the answer: <c>never</c>, <c>always</c>, or <c>on_request</c> (when the
    /// request sets <c>pii_restore: true</c>). Restoring numbers the placeholders: <c>[REDACTED_EMAIL_1]</c>.
    /// </summary>
    public string PiiRestore { get; set; } = PiiRestoreModes.Never;

    /// <summary>Scan the model's answer too: secrets always, PII when the PII mode is on; found values are redacted on the way back.</summary>
    public bool ScanOutput { get; set; }

    /// <summary>What a secret in a request does: <c>block</c> it (the default) or <c>redact</c> the value and go on.</summary>
    public string Secrets { get; set; } = Guardrails.SecretModes.Block;

    /// <summary>Timeout, retries and fallback targets for this workspace's model.</summary>
    public Routing.RoutingPolicy Routing { get; set; } = new();

    /// <summary>Whether the web-search tool may be offered in this workspace at all.</summary>
    public bool WebSearch { get; set; } = true;

    /// <summary>This workspace's search engine, address and tool-less fallback; see <see cref="SearchPolicy"/>.</summary>
    public SearchPolicy? Search { get; set; } = new();

    /// <summary>Whether members may call <c>provider/model</c> ids directly with this workspace as their default.</summary>
    public bool AllowDirectModels { get; set; } = true;

    /// <summary>
    /// The enforced persona: a system text always sent first, even when the caller brings their own system prompt
    /// (which only replaces <see cref="Persona"/>).
    /// </summary>
    public string? Guideline { get; set; }

    /// <summary>Named topics the caller's text may not touch: keywords, phrases, linear-time patterns (400 <c>content_policy_violation</c>).</summary>
    public IReadOnlyList<TopicRule>? BlockedTopics { get; set; }

    /// <summary>Optional model-based topic check; see <see cref="TopicJudgePolicy"/>.</summary>
    public TopicJudgePolicy? TopicJudge { get; set; }

    /// <summary>When the workspace may be used; outside these windows requests get 403 <c>outside_allowed_hours</c>.</summary>
    public AllowedHours? AllowedHours { get; set; }

    /// <summary>Requests, tokens and spend per key, user and workspace (429 <c>rate_limit_exceeded</c>).</summary>
    public VolumeLimits? Limits { get; set; }

    /// <summary>Prompt-injection tripwires: off, flag or block, and the canary.</summary>
    public TripwirePolicy? Tripwires { get; set; }

    public string? Validate() => ValidateBasics() ?? ValidateFirewall();

    private string? ValidateFirewall()
    {
        if (Guideline is { Length: > 100_000 })
        {
            return "guideline is longer than 100,000 characters";
        }

        var topics = BlockedTopics ?? [];
        if (topics.Count > 100)
        {
            return "blocked_topics has more than 100 rules";
        }

        for (var i = 0; i < topics.Count; i++)
        {
            if (topics[i] is null)
            {
                return $"blocked_topics[{i}] is empty";
            }

            if (topics[i].Validate(i) is { } problem)
            {
                return problem;
            }

            if (topics.Take(i).Any(t => t.Name == topics[i].Name))
            {
                return $"blocked_topics has two rules named '{topics[i].Name}'";
            }
        }

        return TopicJudge?.Validate() ?? AllowedHours?.Validate() ?? Limits?.Validate() ?? Tripwires?.Validate();
    }

    private string? ValidateBasics()
    {
        if (string.IsNullOrWhiteSpace(Provider))
        {
            return "provider is required";
        }

        if (string.IsNullOrWhiteSpace(Model))
        {
            return "model is required";
        }

        if (!OpenAI.ChatRequestValidator.PiiModes.Contains(Pii))
        {
            return "pii must be one of disabled, obfuscate, block";
        }

        if (Routing.Validate() is { } routingProblem)
        {
            return routingProblem;
        }

        if (!PiiRestoreModes.IsValid(PiiRestore))
        {
            return "pii_restore must be never, always or on_request";
        }

        if (!Guardrails.SecretModes.IsValid(Secrets))
        {
            return "secrets must be block or redact";
        }

        if (Search?.Validate() is { } searchProblem)
        {
            return searchProblem;
        }

        return Persona is { Length: > 100_000 } ? "persona is longer than 100,000 characters" : null;
    }
}

internal static class PiiRestoreModes
{
    public const string Never = "never";
    public const string Always = "always";
    public const string OnRequest = "on_request";

    public static bool IsValid(string mode) => mode is Never or Always or OnRequest;
}
