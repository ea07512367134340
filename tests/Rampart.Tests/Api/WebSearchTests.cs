using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Rampart.Search;
using Rampart.Tests.Infrastructure;
using Rampart.Workspaces;

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

        var verdicts = await gateway.AuditVerdictsAsync(response);
        Assert.Equal("Web search: 1 searches via searxng", verdicts);
        Assert.DoesNotContain(marker, verdicts, StringComparison.Ordinal);
        Assert.DoesNotContain(marker, gateway.Logs.All, StringComparison.Ordinal);
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
    public async Task SecretInTheModelsQuery_UnderBlock_Returns400AndNothingIsSearched()
    {
        using var http = await CallerAsync(new WorkspacePolicy { Provider = "openai", Model = FakeOpenAIServer.Models.Searcher, Secrets = "block" });
        var marker = ChatApi.NewMarker() + " leak-secret";

        using var response = await ChatApi.PostAsync(http.Client, ChatApi.Request(http.Model, marker));
        var error = await ChatApi.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("secret_detected", error.Text("code"));
        Assert.Equal("web_search.query", error.Text("param"));
        Assert.Equal("Blocked by Secret Detection: GitHub token in web_search.query. The search query was not sent to the search engine.", error.Text("message"));
        Assert.DoesNotContain(FakeOpenAIServer.LeakedToken, error.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Searx.Queries, q => q.Contains(FakeOpenAIServer.LeakedToken, StringComparison.Ordinal));
        Assert.Equal("Web search query blocked (secret_detected) after 0 searches via searxng", await gateway.AuditVerdictsAsync(response));
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
    [InlineData("huge-search", "searxng sent an answer larger than 4 MB")]
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

    [Fact]
    public async Task SecretInTheModelsQuery_UnderRedact_IsReplacedBeforeTheSearch()
    {
        using var http = await CallerAsync(new WorkspacePolicy { Provider = "openai", Model = FakeOpenAIServer.Models.Searcher, Secrets = "redact" });
        var marker = ChatApi.NewMarker() + " leak-secret";

        using var response = await ChatApi.PostAsync(http.Client, ChatApi.Request(http.Model, marker));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith(FakeOpenAIServer.SearchAnswer, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"].Text("content"), StringComparison.Ordinal);
        Assert.Contains("deploy [REDACTED_SECRET]", gateway.Searx.Queries);
        Assert.DoesNotContain(gateway.Searx.Queries, q => q.Contains(FakeOpenAIServer.LeakedToken, StringComparison.Ordinal));
        var verdicts = await gateway.AuditVerdictsAsync(response);
        Assert.Equal("Web search: 1 searches via searxng; Secrets redacted: GitHub token×1 (web_search.query)", verdicts);
        Assert.DoesNotContain(FakeOpenAIServer.LeakedToken, verdicts, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streaming_SecretInTheModelsQuery_UnderRedact_IsReplacedAndTheAnswerStreams()
    {
        using var http = await CallerAsync(new WorkspacePolicy { Provider = "openai", Model = FakeOpenAIServer.Models.Searcher, Secrets = "redact" });
        var marker = ChatApi.NewMarker() + " leak-secret";

        using var response = await ChatApi.SendStreamingAsync(http.Client, ChatApi.Request(http.Model, marker, stream: true));
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[DONE]", events[^1]);
        var content = string.Concat(events.SkipLast(1).Select(e => JsonNode.Parse(e)!).SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["delta"].Text("content")));
        Assert.StartsWith(FakeOpenAIServer.SearchAnswer, content, StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Searx.Queries, q => q.Contains(FakeOpenAIServer.LeakedToken, StringComparison.Ordinal));
        Assert.Contains("Secrets redacted: GitHub token×1 (web_search.query)", await gateway.AuditVerdictsAsync(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SeveralChoices_EveryChoiceRunsItsOwnSearches_AndCitesItsOwnSources()
    {
        using var http = await CallerAsync();
        var marker = ChatApi.NewMarker();
        var request = ChatApi.Request(http.Model, marker);
        request["n"] = 3;

        using var response = await ChatApi.PostAsync(http.Client, request);
        var choices = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]!.AsArray();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([0, 1, 2], choices.Select(c => c!["index"]!.GetValue<int>()));
        Assert.Equal(FakeOpenAIServer.NoSearchAnswer, choices[0]!["message"].Text("content"));
        Assert.Null(choices[0]!["message"]!["annotations"]);
        foreach (var i in new[] { 1, 2 })
        {
            var url = FakeSearxngServer.UrlFor($"choice{i} {marker}");
            var message = choices[i]!["message"]!;
            Assert.Equal($"{FakeOpenAIServer.SearchAnswer} ({url}) the answer is 42.", message.Text("content"));
            Assert.Equal("stop", choices[i].Text("finish_reason"));
            Assert.Null(message["tool_calls"]);
            Assert.Equal([url, "https://forum.example.test/post"], message["annotations"]!.AsArray().Select(a => a!["url_citation"].Text("url")));
            Assert.Contains($"choice{i} {marker}", gateway.Searx.Queries);
        }

        Assert.Equal("searches=2; backend=searxng", response.Headers.GetValues("x-rampart-web-search").Single());
        var calls = gateway.Upstream.Requests.Where(r => r.Body.Contains(marker, StringComparison.Ordinal)).ToList();
        Assert.Equal(3, calls.Count);
        Assert.Equal(3, calls[0].Json["n"]!.GetValue<int>());
        Assert.All(calls.Skip(1), c => Assert.Null(c.Json["n"]));
        Assert.All(calls.Skip(1), c => Assert.Single(c.Messages, m => m.Text("role") == "tool"));
        var verdicts = await gateway.AuditVerdictsAsync(response);
        Assert.Equal("Web search: 2 searches via searxng", verdicts);
        Assert.DoesNotContain(marker, verdicts, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streaming_SeveralChoices_EveryChoiceSearches_EachEndsOnceWithItsCitations()
    {
        using var http = await CallerAsync();
        var marker = ChatApi.NewMarker();
        var request = ChatApi.Request(http.Model, marker, stream: true);
        request["n"] = 3;
        request["stream_options"] = new JsonObject { ["include_usage"] = true };

        using var response = await ChatApi.SendStreamingAsync(http.Client, request);
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonNode.Parse(e)!).ToList();
        var byChoice = chunks.SelectMany(c => c["choices"]!.AsArray()).GroupBy(c => c!["index"]!.GetValue<int>()).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal([0, 1, 2], byChoice.Keys.Order());
        Assert.Equal(FakeOpenAIServer.NoSearchAnswer, string.Concat(byChoice[0].Select(c => c!["delta"].Text("content"))));
        foreach (var (index, parts) in byChoice)
        {
            Assert.Equal(1, parts.Count(c => c!["delta"]!["role"] is not null));
            Assert.Equal("stop", Assert.Single(parts, c => c.Text("finish_reason") is not null).Text("finish_reason"));
            Assert.DoesNotContain(parts, c => c!["delta"]!["tool_calls"] is not null);
            if (index == 0)
            {
                continue;
            }

            var url = FakeSearxngServer.UrlFor($"choice{index} {marker}");
            Assert.Equal($"{FakeOpenAIServer.SearchAnswer} ({url}) the answer is 42.", string.Concat(parts.Select(c => c!["delta"].Text("content"))));
            Assert.Contains(parts, c => c!["delta"]!["annotations"]?[0]?["url_citation"].Text("url") == url);
        }

        // Round one (n = 3) and one more round for each of the two choices that searched: usage summed over the three calls.
        Assert.Equal(30, chunks[^1]["usage"]!["total_tokens"]!.GetValue<int>());
        Assert.Equal("Web search: 2 searches via searxng", await gateway.AuditVerdictsAsync(response));
    }

    [Fact]
    public async Task DemoModel_SearchesTheQuestionFirst_AndTheAnswerCarriesTheSources()
    {
        using var http = await CallerAsync(new WorkspacePolicy { Provider = "local", Model = "demo" });
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(http.Client, ChatApi.Request(http.Model, marker));
        var message = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"]!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("offline demo model", message.Text("content"), StringComparison.Ordinal);
        Assert.Contains($"\"{marker}\"", message.Text("content"), StringComparison.Ordinal);
        Assert.Contains(marker, gateway.Searx.Queries);
        Assert.Equal("searches=1; backend=searxng", response.Headers.GetValues("x-rampart-web-search").Single());
        Assert.Equal([FakeSearxngServer.UrlFor(marker), "https://forum.example.test/post"], message["annotations"]!.AsArray().Select(a => a!["url_citation"].Text("url")));
        var verdicts = await gateway.AuditVerdictsAsync(response);
        Assert.Equal("Web search: 1 searches via searxng (searched first: the model is not offered tools)", verdicts);
    }

    [Fact]
    public async Task Streaming_DemoModel_SearchesFirst_StreamsWithCitations()
    {
        using var http = await CallerAsync(new WorkspacePolicy { Provider = "local", Model = "demo" });
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.SendStreamingAsync(http.Client, ChatApi.Request(http.Model, marker, stream: true));
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[DONE]", events[^1]);
        var deltas = events.SkipLast(1).Select(e => JsonNode.Parse(e)!).SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["delta"]!).ToList();
        Assert.Contains(marker, string.Concat(deltas.Select(d => d.Text("content"))), StringComparison.Ordinal);
        Assert.Contains(deltas, d => d["annotations"]?[0]?["url_citation"].Text("url") == FakeSearxngServer.UrlFor(marker));
        Assert.Contains(marker, gateway.Searx.Queries);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SearchFirstPolicy_ResultsGoFencedBeforeTheQuestion_NoToolsOffered_AnswerCited(bool stream)
    {
        using var http = await CallerAsync(new WorkspacePolicy
        {
            Provider = "openai", Model = FakeOpenAIServer.Models.Searcher, Search = new SearchPolicy { SearchFirst = true },
        });
        var marker = ChatApi.NewMarker();

        using var response = stream
            ? await ChatApi.SendStreamingAsync(http.Client, ChatApi.Request(http.Model, marker, stream: true))
            : await ChatApi.PostAsync(http.Client, ChatApi.Request(http.Model, marker));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var url = FakeSearxngServer.UrlFor(marker);
        var upstream = gateway.Upstream.RequestWith(marker);
        Assert.Null(upstream.Json["tools"]);
        var messages = upstream.Messages;
        Assert.Equal(marker, messages[^1].Text("content"));
        var context = messages[^2]!;
        Assert.Equal("user", context.Text("role"));
        Assert.Contains("<<<UNTRUSTED_SEARCH_RESULTS", context.Text("content"), StringComparison.Ordinal);
        Assert.Contains("untrusted content", context.Text("content"), StringComparison.Ordinal);
        Assert.DoesNotContain(FakeSearxngServer.Injection, context.Text("content"), StringComparison.Ordinal);
        Assert.Contains("Cite the results you use as [n]", context.Text("content"), StringComparison.Ordinal);

        var (content, annotations) = stream ? Streamed(body) : Whole(body);
        Assert.Equal($"{FakeOpenAIServer.SearchAnswer} ({url}) the answer is 42.", content);
        var cited = annotations![0]!["url_citation"]!;
        Assert.Equal(url, cited.Text("url"));
        Assert.Equal(url, content[cited["start_index"]!.GetValue<int>()..cited["end_index"]!.GetValue<int>()]);

        static (string, JsonArray?) Whole(string body)
        {
            var message = JsonNode.Parse(body)!["choices"]![0]!["message"]!;
            return (message.Text("content")!, message["annotations"]?.AsArray());
        }

        static (string, JsonArray?) Streamed(string body)
        {
            var deltas = ChatApi.SseData(body).SkipLast(1).Select(e => JsonNode.Parse(e)!).SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["delta"]!).ToList();
            return (string.Concat(deltas.Select(d => d.Text("content"))), deltas.Select(d => d["annotations"]?.AsArray()).Last(a => a is not null));
        }
    }

    [Fact]
    public async Task SearchFirst_QuestionWithAnEmail_UnderObfuscate_TheQueryCarriesThePlaceholder()
    {
        using var http = await CallerAsync(new WorkspacePolicy { Provider = "local", Model = "demo", Pii = "obfuscate" });
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(http.Client, ChatApi.Request(http.Model, $"{marker} who is {FakeOpenAIServer.LeakedEmail}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"{marker} who is [REDACTED_EMAIL]", gateway.Searx.Queries);
        Assert.DoesNotContain(gateway.Searx.Queries, q => q.Contains(FakeOpenAIServer.LeakedEmail, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SearchFirst_BackendFails_TheModelIsToldAndAnswers()
    {
        using var http = await CallerAsync(new WorkspacePolicy
        {
            Provider = "openai", Model = FakeOpenAIServer.Models.Searcher, Search = new SearchPolicy { SearchFirst = true },
        });
        var marker = ChatApi.NewMarker() + " fail-search";

        using var response = await ChatApi.PostAsync(http.Client, ChatApi.Request(http.Model, marker));
        var message = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"]!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("No sources: ", message.Text("content"), StringComparison.Ordinal);
        Assert.Contains("searxng answered HTTP 500", message.Text("content"), StringComparison.Ordinal);
        Assert.Null(message["annotations"]);
    }

    /// <summary>A caller in a new workspace served by the searcher (or by <paramref name="policy"/>).</summary>
    private async Task<Caller> CallerAsync(WorkspacePolicy? policy = null)
    {
        var workspace = await gateway.Store.CreateWorkspaceAsync("ws-" + Guid.NewGuid().ToString("N")[..12],
            policy ?? new WorkspacePolicy { Provider = "openai", Model = FakeOpenAIServer.Models.Searcher }, default);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
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
