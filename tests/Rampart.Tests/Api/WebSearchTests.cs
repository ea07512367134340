using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Rampart.Audit;
using Rampart.Data;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

/// <summary>The gateway-run web search against a fake SearXNG and a fake model that searches, end to end over HTTP.</summary>
public sealed class WebSearchTests(WebSearchFixture gateway) : IClassFixture<WebSearchFixture>
{
    [Fact]
    public async Task OneRound_AnswersFromTheSearchWithUrlCitations()
    {
        using var http = await CallerAsync();
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(http.Client, ChatApi.Request(http.Model, marker));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var choice = body["choices"]![0]!;
        var content = choice["message"].Text("content")!;
        Assert.StartsWith(FakeOpenAIServer.SearchAnswer, content, StringComparison.Ordinal);
        Assert.Equal("stop", choice.Text("finish_reason"));
        Assert.Null(choice["message"]!["tool_calls"]);
        Assert.Equal("searches=1; backend=searxng", response.Headers.GetValues("x-rampart-web-search").Single());

        var annotations = choice["message"]!["annotations"]!.AsArray();
        Assert.Equal(2, annotations.Count);
        Assert.All(annotations, a => Assert.Equal("url_citation", a.Text("type")));
        var cited = annotations[0]!["url_citation"]!;
        var url = FakeSearxngServer.UrlFor(marker);
        Assert.Equal(url, cited.Text("url"));
        Assert.Equal("The documentation", cited.Text("title"));
        Assert.Equal(url, content[cited["start_index"]!.GetValue<int>()..cited["end_index"]!.GetValue<int>()]);
        Assert.Equal(20, body["usage"]!["total_tokens"]!.GetValue<int>());
        Assert.Contains(marker, gateway.Searx.Queries);

        var verdicts = await AuditVerdictsAsync(response);
        Assert.Equal("Web search: 1 searches via searxng", verdicts);
        Assert.DoesNotContain(marker, verdicts, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upstream_SeesTheToolThenTheUntrustedResults_InjectionsWithheld()
    {
        using var http = await CallerAsync();
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(http.Client, ChatApi.Request(http.Model, marker));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var calls = gateway.Upstream.Requests.Where(r => r.Body.Contains(marker, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, calls.Count);
        Assert.All(calls, c => Assert.Contains(c.Json["tools"]!.AsArray(), t => t!["function"].Text("name") == "web_search"));
        Assert.DoesNotContain(calls[0].Messages, m => m.Text("role") == "tool");

        var second = calls[1].Messages;
        var assistant = Assert.Single(second, m => m.Text("role") == "assistant");
        Assert.Equal("call_search", assistant!["tool_calls"]![0].Text("id"));
        var tool = Assert.Single(second, m => m.Text("role") == "tool")!;
        Assert.Equal("call_search", tool.Text("tool_call_id"));
        var results = tool.Text("content")!;
        Assert.Contains("untrusted content", results, StringComparison.Ordinal);
        Assert.Contains("<<<UNTRUSTED_SEARCH_RESULTS", results, StringComparison.Ordinal);
        Assert.Contains(FakeSearxngServer.UrlFor(marker), results, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeSearxngServer.Injection, results, StringComparison.Ordinal);
        Assert.Contains("https://forum.example.test/post", results, StringComparison.Ordinal);
        Assert.Contains("looks like a prompt-injection attempt — instruction override", results, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('x', 301), results, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoRounds_BothResultsReachTheModelAndAreCited()
    {
        using var http = await CallerAsync();
        var marker = ChatApi.NewMarker() + " search-twice";

        using var response = await ChatApi.PostAsync(http.Client, ChatApi.Request(http.Model, marker));
        var message = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"]!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("searches=2; backend=searxng", response.Headers.GetValues("x-rampart-web-search").Single());
        Assert.Contains(marker, gateway.Searx.Queries);
        Assert.Contains("round 2 " + marker, gateway.Searx.Queries);
        var last = gateway.Upstream.Requests.Where(r => r.Body.Contains(marker, StringComparison.Ordinal)).ToList();
        Assert.Equal(3, last.Count);
        Assert.Equal(2, last[2].Messages.Count(m => m.Text("role") == "tool"));
        var urls = message["annotations"]!.AsArray().Select(a => a!["url_citation"].Text("url")).ToList();
        Assert.Equal([FakeSearxngServer.UrlFor(marker), "https://forum.example.test/post", FakeSearxngServer.UrlFor("round 2 " + marker)], urls);
    }

    [Fact]
    public async Task ModelThatNeverStopsSearching_IsCutOffAfterTheRoundLimit()
    {
        using var http = await CallerAsync();
        var marker = ChatApi.NewMarker() + " search-forever";

        using var response = await ChatApi.PostAsync(http.Client, ChatApi.Request(http.Model, marker));
        var choice = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("stop", choice.Text("finish_reason"));
        Assert.Null(choice["message"]!["tool_calls"]);
        Assert.Contains("could not finish the web search", choice["message"].Text("content"), StringComparison.Ordinal);
        var calls = gateway.Upstream.Requests.Where(r => r.Body.Contains(marker, StringComparison.Ordinal)).ToList();
        Assert.Equal(4, calls.Count);
        Assert.Equal("none", calls[^1].Json["tool_choice"]!.GetValue<string>());
    }

    [Fact]
    public async Task SecretInTheModelsQuery_Returns400AndNothingIsSearched()
    {
        using var http = await CallerAsync();
        var marker = ChatApi.NewMarker() + " leak-secret";

        using var response = await ChatApi.PostAsync(http.Client, ChatApi.Request(http.Model, marker));
        var error = await ChatApi.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("secret_detected", error.Text("code"));
        Assert.Equal("web_search.query", error.Text("param"));
        Assert.DoesNotContain(FakeOpenAIServer.LeakedToken, error.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Searx.Queries, q => q.Contains(FakeOpenAIServer.LeakedToken, StringComparison.Ordinal));
        Assert.Equal("Web search query blocked (secret_detected) after 0 searches via searxng", await AuditVerdictsAsync(response));
    }

    [Fact]
    public async Task PiiInTheModelsQuery_UnderObfuscate_IsReplacedBeforeTheSearch()
    {
        using var http = await CallerAsync();
        var marker = ChatApi.NewMarker();
        var request = ChatApi.Request(http.Model, marker + " leak-email");
        request["pii"] = "obfuscate";

        using var response = await ChatApi.PostAsync(http.Client, request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var query = Assert.Single(gateway.Searx.Queries, q => q.StartsWith("who is", StringComparison.Ordinal) && !q.Contains("marker", StringComparison.Ordinal) && q.Contains("[REDACTED_EMAIL]", StringComparison.Ordinal));
        Assert.DoesNotContain(FakeOpenAIServer.LeakedEmail, query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CustomSystemPrompt_SearchIsOff_UnlessAskedFor()
    {
        using var http = await CallerAsync();
        var marker = ChatApi.NewMarker();
        var request = ChatApi.Request(http.Model, marker);
        request["messages"]!.AsArray().Insert(0, new JsonObject { ["role"] = "system", ["content"] = "You are terse." });

        using var off = await ChatApi.PostAsync(http.Client, request);
        request["web_search"] = true;
        using var on = await ChatApi.PostAsync(http.Client, request);

        Assert.Equal(FakeOpenAIServer.NoSearchAnswer, JsonNode.Parse(await off.Content.ReadAsStringAsync())!["choices"]![0]!["message"].Text("content"));
        Assert.StartsWith(FakeOpenAIServer.SearchAnswer, JsonNode.Parse(await on.Content.ReadAsStringAsync())!["choices"]![0]!["message"].Text("content"), StringComparison.Ordinal);
        Assert.Null(gateway.Upstream.Requests.First(r => r.Body.Contains(marker, StringComparison.Ordinal)).Json["tools"]);
    }

    [Fact]
    public async Task WebSearchFalse_NoToolIsOffered()
    {
        using var http = await CallerAsync();
        var marker = ChatApi.NewMarker();
        var request = ChatApi.Request(http.Model, marker);
        request["web_search"] = false;

        using var response = await ChatApi.PostAsync(http.Client, request);

        Assert.Equal(FakeOpenAIServer.NoSearchAnswer, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"].Text("content"));
        Assert.Null(gateway.Upstream.RequestWith(marker).Json["tools"]);
        Assert.DoesNotContain(marker, gateway.Searx.Queries);
    }

    [Fact]
    public async Task ModelCallsTheCallersTool_CallerGetsOnlyItsOwnToolCall()
    {
        using var http = await CallerAsync();
        var marker = ChatApi.NewMarker() + " caller-tool";
        var request = ChatApi.Request(http.Model, marker);
        request["tools"] = new JsonArray(new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = "lookup", ["parameters"] = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() } },
        });

        using var response = await ChatApi.PostAsync(http.Client, request);
        var choice = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("tool_calls", choice.Text("finish_reason"));
        var call = Assert.Single(choice["message"]!["tool_calls"]!.AsArray())!;
        Assert.Equal("lookup", call["function"].Text("name"));
        Assert.Equal("call_caller", call.Text("id"));
        var upstream = gateway.Upstream.RequestWith(marker);
        Assert.Equal(["lookup", "web_search"], upstream.Json["tools"]!.AsArray().Select(t => t!["function"].Text("name")));
        Assert.DoesNotContain(marker, gateway.Searx.Queries);
    }

    [Theory]
    [InlineData("fail-search", "searxng answered HTTP 500")]
    [InlineData("hang-search", "searxng did not answer within 1 s")]
    public async Task BackendFailure_ModelIsToldAndAnswersPromptly(string trigger, string reason)
    {
        using var http = await CallerAsync();
        var marker = $"{ChatApi.NewMarker()} {trigger}";
        var clock = Stopwatch.StartNew();

        using var response = await ChatApi.PostAsync(http.Client, ChatApi.Request(http.Model, marker));
        var content = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"].Text("content")!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.StartsWith("No sources: ", content, StringComparison.Ordinal);
        Assert.Contains(reason, content, StringComparison.Ordinal);
        Assert.Contains("tell the user the search failed", content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streaming_SearchRoundsThenTheAnswerStreamsWithCitations()
    {
        using var http = await CallerAsync();
        var marker = ChatApi.NewMarker();
        var request = ChatApi.Request(http.Model, marker, stream: true);
        request["stream_options"] = new JsonObject { ["include_usage"] = true };

        using var response = await ChatApi.SendStreamingAsync(http.Client, request);
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonNode.Parse(e)!).ToList();
        var deltas = chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["delta"]!).ToList();
        Assert.StartsWith(FakeOpenAIServer.SearchAnswer, string.Concat(deltas.Select(d => d.Text("content"))), StringComparison.Ordinal);
        Assert.Contains(deltas, d => d["annotations"]?[0]?["url_citation"].Text("url") == FakeSearxngServer.UrlFor(marker));
        Assert.Contains(chunks.SelectMany(c => c["choices"]!.AsArray()), c => c.Text("finish_reason") == "stop");
        Assert.Equal(20, chunks[^1]["usage"]!["total_tokens"]!.GetValue<int>());
        var calls = gateway.Upstream.Requests.Where(r => r.Body.Contains(marker, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, calls.Count);
        Assert.All(calls, c => Assert.True(c.Json["stream"]!.GetValue<bool>()));
        Assert.Equal("call_search", calls[1].Messages.Single(m => m.Text("role") == "tool").Text("tool_call_id"));
        Assert.Contains(FakeSearxngServer.UrlFor(marker), calls[1].Messages.Single(m => m.Text("role") == "tool").Text("content"), StringComparison.Ordinal);
        Assert.DoesNotContain(deltas, d => d["tool_calls"] is not null);
        Assert.Equal(1, deltas.Count(d => d["role"] is not null));
        Assert.Equal(1, chunks.SelectMany(c => c["choices"]!.AsArray()).Count(c => c.Text("finish_reason") is not null));
    }

    [Fact]
    public async Task Streaming_SecretInTheModelsQuery_Returns400BeforeAnyByte()
    {
        using var http = await CallerAsync();
        var marker = ChatApi.NewMarker() + " leak-secret";

        using var response = await ChatApi.SendStreamingAsync(http.Client, ChatApi.Request(http.Model, marker, stream: true));
        var error = await ChatApi.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("secret_detected", error.Text("code"));
        Assert.Equal("web_search.query", error.Text("param"));
        Assert.DoesNotContain(gateway.Searx.Queries, q => q.Contains(FakeOpenAIServer.LeakedToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Streaming_CallersToolCall_IsStreamedToTheCallerWithoutTheGatewaysCall()
    {
        using var http = await CallerAsync();
        var marker = ChatApi.NewMarker() + " caller-tool";
        var request = ChatApi.Request(http.Model, marker, stream: true);
        request["tools"] = new JsonArray(new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = "lookup" } });

        using var response = await ChatApi.SendStreamingAsync(http.Client, request);
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        var choices = events.SkipLast(1).Select(e => JsonNode.Parse(e)!).SelectMany(c => c["choices"]!.AsArray()).ToList();
        var calls = choices.SelectMany(c => c!["delta"]!["tool_calls"]?.AsArray() ?? []).ToList();
        Assert.All(calls, c => Assert.Equal(0, c!["index"]!.GetValue<int>()));
        Assert.Equal("lookup", Assert.Single(calls, c => c!["function"]?["name"] is not null)!["function"].Text("name"));
        Assert.Equal("{}", string.Concat(calls.Select(c => c!["function"]?.Text("arguments"))));
        Assert.Equal("tool_calls", Assert.Single(choices, c => c.Text("finish_reason") is not null).Text("finish_reason"));
        Assert.DoesNotContain(marker, gateway.Searx.Queries);
    }

    /// <summary>The verdicts column of this response's audit record.</summary>
    private async Task<string?> AuditVerdictsAsync(HttpResponseMessage response)
    {
        await gateway.Services.GetRequiredService<AuditWriter>().FlushAsync();
        await using var connection = await gateway.Services.GetRequiredService<Db>().OpenAsync();
        var id = response.Headers.GetValues("x-request-id").Single();
        var verdicts = await connection.QuerySingleAsync<string?>("SELECT verdicts FROM audit_records WHERE id = @id", new { id });
        return verdicts is null ? null : string.Join("; ", JsonNode.Parse(verdicts)!.AsArray().Select(v => v!.GetValue<string>()));
    }

    private async Task<Caller> CallerAsync()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.Searcher);
        return new Caller(gateway.Http(key), workspace.Name);
    }

    private sealed record Caller(HttpClient Client, string Model) : IDisposable
    {
        public void Dispose() => Client.Dispose();
    }
}

/// <summary>Without a search backend, web search is off and a request's tools reach the provider exactly as sent.</summary>
[Collection(GatewayTests.Name)]
public sealed class NoSearchBackendTests(GatewayFixture gateway)
{
    [Fact]
    public async Task NoBackend_SearchIsOffAndCallerToolsPassUntouched()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.Searcher);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var request = ChatApi.Request(workspace.Name, marker);
        request["web_search"] = true;
        var tools = new JsonArray(new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = "lookup", ["description"] = "Look it up." } });
        request["tools"] = tools.DeepClone();

        using var response = await ChatApi.PostAsync(http, request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(FakeOpenAIServer.NoSearchAnswer, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"].Text("content"));
        Assert.False(response.Headers.Contains("x-rampart-web-search"));
        Assert.True(JsonNode.DeepEquals(tools, gateway.Upstream.RequestWith(marker).Json["tools"]));
    }
}
