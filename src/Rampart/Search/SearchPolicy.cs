namespace Rampart.Search;

/// <summary>
/// A workspace's own web-search settings, the <c>search</c> part of its policy. Left out, the gateway's backend
/// (<c>SEARXNG_BASE_URL</c>, <c>BRAVE_SEARCH_*</c>, <c>TAVILY_*</c>) is used; a Brave or Tavily key of the workspace's own
/// is a credential (<c>search:brave</c>, <c>search:tavily</c>), stored encrypted like a provider key, never in the policy.
/// </summary>
// Settable, not init-only: see WorkspacePolicy.
internal sealed record SearchPolicy
{
    /// <summary><c>searxng</c>, <c>brave</c>, <c>tavily</c> or <c>none</c> (no web search); null uses the gateway's backend.</summary>
    public string? Backend { get; set; }

    /// <summary>The backend's address for this workspace; null uses the gateway's (or the engine's public one).</summary>
    public string? BaseUrl { get; set; }

    /// <summary>
    /// The workspace's model cannot call tools: instead of offering it the <c>web_search</c> tool, the gateway searches
    /// the user's last question first and sends the results with it. Models known to have no tools (the offline demo)
    /// are always served this way.
    /// </summary>
    public bool SearchFirst { get; set; }

    public string? Validate()
    {
        if (Backend is not null && !SearchBackendNames.IsValid(Backend))
        {
            return $"search.backend must be one of {string.Join(", ", SearchBackendNames.All)} (or left out for the gateway's backend), not '{Backend}'";
        }

        if (BaseUrl is null)
        {
            return null;
        }

        if (Backend is null or SearchBackendNames.None)
        {
            return "search.base_url needs search.backend (searxng, brave or tavily): the address alone does not say which engine speaks there";
        }

        return Uri.TryCreate(BaseUrl, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? null
            : $"search.base_url '{BaseUrl}' is not an absolute http(s) URL";
    }
}

/// <summary>The search engines a workspace can choose, and the credential names their keys are stored under.</summary>
internal static class SearchBackendNames
{
    public const string Searxng = "searxng";
    public const string Brave = "brave";
    public const string Tavily = "tavily";
    public const string None = "none";

    public static readonly string[] All = [Searxng, Brave, Tavily, None];

    /// <summary>The engines that take an API key: their keys are workspace credentials named <c>search:&lt;engine&gt;</c>.</summary>
    public static readonly string[] Keyed = [Brave, Tavily];

    private const string CredentialPrefix = "search:";

    public static bool IsValid(string backend) => All.Contains(backend, StringComparer.Ordinal);

    public static string CredentialName(string backend) => CredentialPrefix + backend;

    /// <summary>Whether <paramref name="name"/> is a search credential (<c>search:brave</c>, <c>search:tavily</c>).</summary>
    public static bool IsCredentialName(string name) =>
        name.StartsWith(CredentialPrefix, StringComparison.Ordinal) && Keyed.Contains(name[CredentialPrefix.Length..], StringComparer.Ordinal);

    /// <summary>Why a credential named <paramref name="name"/> cannot be stored, for a name that looks like a search credential; else null.</summary>
    public static string? CredentialProblem(string name, bool hasBaseUrl, bool hasKey)
    {
        if (!name.StartsWith(CredentialPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        if (!IsCredentialName(name))
        {
            return $"'{name}' is not a search credential: only {string.Join(" and ", Keyed.Select(CredentialName))} take an API key (SearXNG needs only search.base_url in the policy).";
        }

        if (hasBaseUrl)
        {
            return "A search credential holds only the API key; set the address in the workspace policy's search.base_url.";
        }

        return hasKey ? null : $"Give the API key for {name}.";
    }
}
