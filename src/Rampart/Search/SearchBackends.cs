using System.Net.Http.Json;
using System.Text.Json;
using Rampart.Hosting;

namespace Rampart.Search;

/// <summary>One web result as the model gets it: title, address and a snippet (already trimmed to the size limit).</summary>
internal sealed record SearchResult(string Title, string Url, string Snippet);

/// <summary>What one search returned, or why it failed; a failure is a value the tool loop hands to the model.</summary>
internal sealed record SearchResponse(IReadOnlyList<SearchResult> Results, string? Error)
{
    public static SearchResponse Failed(string error) => new([], error);
}

/// <summary>A web search engine the gateway queries on the model's behalf.</summary>
internal interface ISearchBackend
{
    string Name { get; }

    Task<SearchResponse> SearchAsync(string query, SearchLimits limits, CancellationToken cancellationToken);
}

/// <summary>Per search: how long it may take, how many results and how long a snippet.</summary>
internal sealed record SearchLimits(TimeSpan Timeout, int MaxResults, int MaxSnippetChars);

/// <summary>The shared HTTP work of every backend: send with the per-search timeout, map failures to values, parse JSON.</summary>
internal abstract class HttpSearchBackend(HttpClient http) : ISearchBackend
{
    public abstract string Name { get; }

    public async Task<SearchResponse> SearchAsync(string query, SearchLimits limits, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limits.Timeout);
        try
        {
            using var request = CreateRequest(query, limits.MaxResults);
            // Read whole within the timeout and the client's size limit (WebSearch.MaxAnswerBytes), then parsed.
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                return SearchResponse.Failed($"{Name} answered HTTP {(int)response.StatusCode}");
            }

            await SocketCompletions.LeaveEventThreadAsync(response.Content.Headers.ContentLength);
            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            using var json = await JsonDocument.ParseAsync(body, cancellationToken: timeout.Token);
            var results = Parse(json.RootElement)
                .Where(r => Uri.TryCreate(r.Url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
                .Take(limits.MaxResults)
                .Select(r => r with { Title = Trim(r.Title, 200), Snippet = Trim(r.Snippet, limits.MaxSnippetChars) })
                .ToList();
            return new SearchResponse(results, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return SearchResponse.Failed($"{Name} did not answer within {limits.Timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConfigurationLimitExceeded)
        {
            return SearchResponse.Failed($"{Name} sent an answer larger than {WebSearch.MaxAnswerBytes / (1024 * 1024)} MB");
        }
        catch (HttpRequestException ex)
        {
            return SearchResponse.Failed($"{Name} could not be reached ({ex.HttpRequestError})");
        }
        catch (JsonException)
        {
            return SearchResponse.Failed($"{Name} sent an answer that is not valid JSON");
        }
    }

    protected abstract HttpRequestMessage CreateRequest(string query, int maxResults);

    protected abstract IEnumerable<SearchResult> Parse(JsonElement root);

    protected static IEnumerable<SearchResult> Results(JsonElement array, string snippetField)
    {
        if (array.ValueKind != JsonValueKind.Array)
        {
            yield break;
        }

        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Object)
            {
                yield return new SearchResult(Text(item, "title"), Text(item, "url"), Text(item, snippetField));
            }
        }
    }

    private static string Text(JsonElement item, string name) =>
        item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() ?? "" : "";

    private static string Trim(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "…");
}

/// <summary>SearXNG's JSON API: <c>GET {base}/search?q=…&amp;format=json</c> → <c>results[]</c> with title, url, content.</summary>
internal sealed class SearxngBackend(HttpClient http, Uri baseUrl) : HttpSearchBackend(http)
{
    public override string Name => "searxng";

    protected override HttpRequestMessage CreateRequest(string query, int maxResults) =>
        new(HttpMethod.Get, new Uri(baseUrl, $"search?q={Uri.EscapeDataString(query)}&format=json"));

    protected override IEnumerable<SearchResult> Parse(JsonElement root) =>
        root.TryGetProperty("results", out var results) ? Results(results, "content") : [];
}

/// <summary>Brave Search API: <c>GET {base}/res/v1/web/search?q=…</c> with <c>X-Subscription-Token</c> → <c>web.results[]</c>.</summary>
internal sealed class BraveBackend(HttpClient http, Uri baseUrl, string apiKey) : HttpSearchBackend(http)
{
    public override string Name => "brave";

    protected override HttpRequestMessage CreateRequest(string query, int maxResults)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, $"res/v1/web/search?q={Uri.EscapeDataString(query)}&count={maxResults}"));
        request.Headers.Add("X-Subscription-Token", apiKey);
        request.Headers.Add("Accept", "application/json");
        return request;
    }

    protected override IEnumerable<SearchResult> Parse(JsonElement root) =>
        root.TryGetProperty("web", out var web) && web.ValueKind == JsonValueKind.Object && web.TryGetProperty("results", out var results)
            ? Results(results, "description")
            : [];
}

/// <summary>Tavily: <c>POST {base}/search</c> with a bearer key and <c>{query, max_results}</c> → <c>results[]</c>.</summary>
internal sealed class TavilyBackend(HttpClient http, Uri baseUrl, string apiKey) : HttpSearchBackend(http)
{
    public override string Name => "tavily";

    protected override HttpRequestMessage CreateRequest(string query, int maxResults)
    {
        var body = new Dictionary<string, JsonElement>
        {
            ["query"] = JsonSerializer.SerializeToElement(query, SearchJson.Default.String),
            ["max_results"] = JsonSerializer.SerializeToElement(maxResults, SearchJson.Default.Int32),
        };
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUrl, "search"))
        {
            Content = JsonContent.Create(body, SearchJson.Default.DictionaryStringJsonElement),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        return request;
    }

    protected override IEnumerable<SearchResult> Parse(JsonElement root) =>
        root.TryGetProperty("results", out var results) ? Results(results, "content") : [];
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, JsonElement>))]
internal sealed partial class SearchJson : System.Text.Json.Serialization.JsonSerializerContext;
