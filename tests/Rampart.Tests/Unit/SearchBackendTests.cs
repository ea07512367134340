using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Rampart.Search;

namespace Rampart.Tests.Unit;

/// <summary>Brave and Tavily against real loopback fakes of their APIs: request shape, key, parsing and limits.</summary>
public sealed class SearchBackendTests : IAsyncLifetime
{
    private const string Key = "search-key-for-tests";
    private static readonly SearchLimits Limits = new(TimeSpan.FromSeconds(2), MaxResults: 2, MaxSnippetChars: 50);

    private WebApplication _app = null!;
    private Uri _baseUrl = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapGet("/res/v1/web/search", (HttpContext http) => http.Request.Headers["X-Subscription-Token"] != Key
            ? Results.StatusCode(401)
            : Results.Content(Page("description", http.Request.Query["q"]!, wrapInWeb: true).ToJsonString(), "application/json"));
        _app.MapPost("/search", async (HttpContext http) =>
        {
            var body = await JsonNode.ParseAsync(http.Request.Body);
            return http.Request.Headers.Authorization != $"Bearer {Key}" || body?["max_results"]?.GetValue<int>() != 2
                ? Results.StatusCode(401)
                : Results.Content(Page("content", body["query"]!.GetValue<string>(), wrapInWeb: false).ToJsonString(), "application/json");
        });
        await _app.StartAsync();
        _baseUrl = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task Brave_SendsTheKey_ParsesWebResults_AppliesLimits()
    {
        var response = await new BraveBackend(_http, _baseUrl, Key).SearchAsync("rampart gateway", Limits, default);

        AssertPage(response, "rampart gateway");
    }

    [Fact]
    public async Task Tavily_PostsTheQueryWithTheKey_ParsesResults_AppliesLimits()
    {
        var response = await new TavilyBackend(_http, _baseUrl, Key).SearchAsync("rampart gateway", Limits, default);

        AssertPage(response, "rampart gateway");
    }

    [Fact]
    public async Task WrongKey_IsAFailureValueNotAnException()
    {
        var response = await new BraveBackend(_http, _baseUrl, "wrong").SearchAsync("q", Limits, default);

        Assert.Empty(response.Results);
        Assert.Equal("brave answered HTTP 401", response.Error);
    }

    private static void AssertPage(SearchResponse response, string query)
    {
        Assert.Null(response.Error);
        Assert.Equal(2, response.Results.Count);
        Assert.Equal($"https://one.example.test/?q={Uri.EscapeDataString(query)}", response.Results[0].Url);
        Assert.Equal("One", response.Results[0].Title);
        Assert.Equal(new string('a', 50) + "…", response.Results[0].Snippet);
        Assert.Equal("https://three.example.test/", response.Results[1].Url);
    }

    /// <summary>Three results, of which the second has a non-web address and must be dropped.</summary>
    private static JsonObject Page(string snippetField, string query, bool wrapInWeb)
    {
        var results = new JsonArray(
            new JsonObject { ["title"] = "One", ["url"] = $"https://one.example.test/?q={Uri.EscapeDataString(query)}", [snippetField] = new string('a', 80) },
            new JsonObject { ["title"] = "Two", ["url"] = "javascript:alert(1)", [snippetField] = "x" },
            new JsonObject { ["title"] = "Three", ["url"] = "https://three.example.test/", [snippetField] = "short" },
            new JsonObject { ["title"] = "Four", ["url"] = "https://four.example.test/", [snippetField] = "over the limit" });
        return wrapInWeb ? new JsonObject { ["web"] = new JsonObject { ["results"] = results } } : new JsonObject { ["results"] = results };
    }
}
