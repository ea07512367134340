namespace Rampart.Search;

/// <summary>
/// The gateway's search engine, chosen from configuration: SearXNG (<c>SEARXNG_BASE_URL</c>), else Brave
/// (<c>BRAVE_SEARCH_API_KEY</c>, optional <c>BRAVE_SEARCH_BASE_URL</c>), else Tavily (<c>TAVILY_API_KEY</c>, optional
/// <c>TAVILY_BASE_URL</c>). With none configured, <see cref="Backend"/> is null and web search is off.
/// </summary>
internal sealed class WebSearch
{
    public const string HttpClientName = "search";

    public WebSearch(IHttpClientFactory clients, IConfiguration configuration)
    {
        Limits = new SearchLimits(
            TimeSpan.FromSeconds(configuration.GetValue("Rampart:Search:TimeoutSeconds", 10.0)),
            Math.Clamp(configuration.GetValue("Rampart:Search:MaxResults", 5), 1, 20),
            Math.Clamp(configuration.GetValue("Rampart:Search:MaxSnippetChars", 600), 50, 4000));
        MaxRounds = Math.Clamp(configuration.GetValue("Rampart:Search:MaxRounds", 3), 1, 10);

        var http = clients.CreateClient(HttpClientName);
        if (BaseUrl(configuration["SEARXNG_BASE_URL"]) is { } searxng)
        {
            Backend = new SearxngBackend(http, searxng);
        }
        else if (NonEmpty(configuration["BRAVE_SEARCH_API_KEY"]) is { } braveKey)
        {
            Backend = new BraveBackend(http, BaseUrl(configuration["BRAVE_SEARCH_BASE_URL"]) ?? new Uri("https://api.search.brave.com/"), braveKey);
        }
        else if (NonEmpty(configuration["TAVILY_API_KEY"]) is { } tavilyKey)
        {
            Backend = new TavilyBackend(http, BaseUrl(configuration["TAVILY_BASE_URL"]) ?? new Uri("https://api.tavily.com/"), tavilyKey);
        }
    }

    public ISearchBackend? Backend { get; }

    public SearchLimits Limits { get; }

    /// <summary>Model calls that may ask for searches before the answer must come without more of them.</summary>
    public int MaxRounds { get; }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    // A trailing slash, so that relative paths append to the base path instead of replacing its last segment.
    private static Uri? BaseUrl(string? value) =>
        NonEmpty(value) is { } text ? new Uri(text.EndsWith('/') ? text : text + "/", UriKind.Absolute) : null;
}

internal static class SearchServices
{
    public static IServiceCollection AddRampartSearch(this IServiceCollection services)
    {
        // The per-search timeout is ours; redirects are not followed, so a result page cannot steer the gateway elsewhere.
        services.AddHttpClient(WebSearch.HttpClientName)
            .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan)
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
