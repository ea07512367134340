using System.Collections.Concurrent;
using Rampart.Providers;
using Rampart.Workspaces;

namespace Rampart.Search;

/// <summary>
/// The gateway's search engines. Gateway-wide, from configuration: SearXNG (<c>SEARXNG_BASE_URL</c>), else Brave
/// (<c>BRAVE_SEARCH_API_KEY</c>, optional <c>BRAVE_SEARCH_BASE_URL</c>), else Tavily (<c>TAVILY_API_KEY</c>, optional
/// <c>TAVILY_BASE_URL</c>); with none configured, <see cref="Backend"/> is null. A workspace's policy can choose its own
/// engine and address (<see cref="SearchPolicy"/>), with its own key as a <c>search:&lt;engine&gt;</c> credential.
/// </summary>
internal sealed class WebSearch
{
    public const string HttpClientName = "search";

    /// <summary>Largest answer read from a search engine: a page of results is tens of kilobytes.</summary>
    public const int MaxAnswerBytes = 4 * 1024 * 1024;

    private static readonly Uri BravePublic = new("https://api.search.brave.com/");
    private static readonly Uri TavilyPublic = new("https://api.tavily.com/");

    private readonly HttpClient _http;
    private readonly CredentialProtector _protector;
    private readonly Uri? _searxngUrl;
    private readonly Uri _braveUrl;
    private readonly Uri _tavilyUrl;
    private readonly string? _braveKey;
    private readonly string? _tavilyKey;

    // A workspace's backend is built once per version of its settings; the key is decrypted only then.
    private readonly ConcurrentDictionary<string, (BackendSettings Settings, ISearchBackend Backend)> _workspaceBackends = new(StringComparer.Ordinal);

    public WebSearch(IHttpClientFactory clients, IConfiguration configuration, CredentialProtector protector)
    {
        Limits = new SearchLimits(
            TimeSpan.FromSeconds(configuration.GetValue("Rampart:Search:TimeoutSeconds", 10.0)),
            Math.Clamp(configuration.GetValue("Rampart:Search:MaxResults", 5), 1, 20),
            Math.Clamp(configuration.GetValue("Rampart:Search:MaxSnippetChars", 600), 50, 4000));
        MaxRounds = Math.Clamp(configuration.GetValue("Rampart:Search:MaxRounds", 3), 1, 10);

        _http = clients.CreateClient(HttpClientName);
        _protector = protector;
        _searxngUrl = BaseUrl(configuration["SEARXNG_BASE_URL"]);
        _braveUrl = BaseUrl(configuration["BRAVE_SEARCH_BASE_URL"]) ?? BravePublic;
        _tavilyUrl = BaseUrl(configuration["TAVILY_BASE_URL"]) ?? TavilyPublic;
        _braveKey = NonEmpty(configuration["BRAVE_SEARCH_API_KEY"]);
        _tavilyKey = NonEmpty(configuration["TAVILY_API_KEY"]);

        var gatewayBackend = _searxngUrl is not null ? SearchBackendNames.Searxng
            : _braveKey is not null ? SearchBackendNames.Brave
            : _tavilyKey is not null ? SearchBackendNames.Tavily
            : null;
        Backend = gatewayBackend is null ? null : Create(gatewayBackend, baseUrl: null, key: null);
    }

    /// <summary>The gateway-wide engine, or null when none is configured.</summary>
    public ISearchBackend? Backend { get; }

    public SearchLimits Limits { get; }

    /// <summary>Model calls that may ask for searches before the answer must come without more of them.</summary>
    public int MaxRounds { get; }

    /// <summary>
    /// The engine for a workspace's requests: its own choice when its policy makes one, else the gateway's. A choice
    /// that cannot work (Brave with no key anywhere, SearXNG with no address) has no backend and says why.
    /// </summary>
    public SearchBackendChoice For(Workspace workspace, Func<string, ProviderCredential?> credentialFor)
    {
        if (workspace.Policy.Search?.Backend is not { } name)
        {
            return new SearchBackendChoice(Backend, null);
        }

        if (name == SearchBackendNames.None)
        {
            return new SearchBackendChoice(null, null);
        }

        var baseUrl = workspace.Policy.Search.BaseUrl is { } text ? BaseUrl(text) : null;
        var credential = SearchBackendNames.Keyed.Contains(name) ? credentialFor(SearchBackendNames.CredentialName(name)) : null;
        var gatewayKey = name == SearchBackendNames.Brave ? _braveKey : _tavilyKey;
        var missing = name switch
        {
            SearchBackendNames.Searxng when baseUrl is null && _searxngUrl is null =>
                "searxng has no address for this workspace (set search.base_url or SEARXNG_BASE_URL)",
            // The gateway's own key is never sent to an address a workspace chose: that would hand it to whoever runs it.
            _ when name != SearchBackendNames.Searxng && credential?.ApiKeyProtected is null && (gatewayKey is null || baseUrl is not null) =>
                $"{name} has no API key for this workspace (set the {SearchBackendNames.CredentialName(name)} credential"
                + (baseUrl is null ? $" or {(name == SearchBackendNames.Brave ? "BRAVE_SEARCH_API_KEY" : "TAVILY_API_KEY")})" : "; with its own search.base_url the gateway's key is not used)"),
            _ => null,
        };
        if (missing is not null)
        {
            return new SearchBackendChoice(null, missing);
        }

        var settings = new BackendSettings(name, baseUrl, credential?.UpdatedAt);
        if (_workspaceBackends.TryGetValue(workspace.Id, out var cached) && cached.Settings == settings)
        {
            return new SearchBackendChoice(cached.Backend, null);
        }

        var backend = Create(name, baseUrl, credential?.ApiKeyProtected is { } key ? _protector.Unprotect(key) : null);
        _workspaceBackends[workspace.Id] = (settings, backend);
        return new SearchBackendChoice(backend, null);
    }

    /// <summary>An engine with the given address and key, the gateway's own where they are not given.</summary>
    private ISearchBackend Create(string name, Uri? baseUrl, string? key) => name switch
    {
        SearchBackendNames.Searxng => new SearxngBackend(_http, baseUrl ?? _searxngUrl!),
        SearchBackendNames.Brave => new BraveBackend(_http, baseUrl ?? _braveUrl, key ?? _braveKey!),
        _ => new TavilyBackend(_http, baseUrl ?? _tavilyUrl, key ?? _tavilyKey!),
    };

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    // A trailing slash, so that relative paths append to the base path instead of replacing its last segment.
    private static Uri? BaseUrl(string? value) =>
        NonEmpty(value) is { } text ? new Uri(text.EndsWith('/') ? text : text + "/", UriKind.Absolute) : null;

    private sealed record BackendSettings(string Name, Uri? BaseUrl, long? CredentialUpdatedAt);
}

/// <summary>The engine a request searches with, or none; <see cref="Unavailable"/> says why a workspace's chosen engine cannot be used.</summary>
internal sealed record SearchBackendChoice(ISearchBackend? Backend, string? Unavailable);

internal static class SearchServices
{
    public static IServiceCollection AddRampartSearch(this IServiceCollection services)
    {
        // The per-search timeout is ours; redirects are not followed, so a result page cannot steer the gateway elsewhere.
        services.AddHttpClient(WebSearch.HttpClientName)
            .ConfigureHttpClient(client =>
            {
                client.Timeout = Timeout.InfiniteTimeSpan;
                client.MaxResponseContentBufferSize = WebSearch.MaxAnswerBytes;
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = TimeSpan.FromSeconds(10),
                AllowAutoRedirect = false,
                UseCookies = false,
            })
            // WebSearch holds its client for the gateway's life; connections are recycled by PooledConnectionLifetime instead.
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        services.AddSingleton<WebSearch>();
        return services;
    }
}
