using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Rampart.Data;
using Rampart.Search;
using Rampart.Tests.Infrastructure;
using Rampart.Workspaces;

namespace Rampart.Tests.Api;

/// <summary>
/// A workspace's own search engine, address and key (policy <c>search</c> and a <c>search:…</c> credential) over the
/// gateway's SearXNG, configured through the management API and used end to end against the fake engines.
/// </summary>
public sealed class WorkspaceSearchTests(WebSearchFixture gateway) : IClassFixture<WebSearchFixture>
{
    [Fact]
    public async Task WorkspaceBrave_WithItsOwnKey_IsUsedInsteadOfTheGatewaysSearxng_KeyStoredEncrypted()
    {
        using var member = await WorkspaceAsync(new SearchPolicy { Backend = "brave", BaseUrl = gateway.Searx.BraveBaseUrl });
        var braveKey = "brave-test-" + Guid.NewGuid().ToString("N");
        using var admin = gateway.Http(gateway.MasterKey);
        using var set = await admin.PutAsJsonAsync($"api/v1/workspaces/{member.Workspace}/credentials/search:brave", new { api_key = braveKey });
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(member.Http, ChatApi.Request(member.Workspace, marker));

        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var view = JsonNode.Parse(await set.Content.ReadAsStringAsync())!;
        Assert.Equal("search:brave", view.Text("provider"));
        Assert.Equal("…" + braveKey[^4..], view.Text("key_hint"));
        Assert.DoesNotContain(braveKey, view.ToJsonString(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("searches=1; backend=brave", response.Headers.GetValues("x-rampart-web-search").Single());
        var search = Assert.Single(gateway.Searx.Searches, s => s.Query == marker);
        Assert.Equal(new FakeSearch("brave", marker, braveKey), search);
        var message = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"]!;
        Assert.Equal(FakeSearxngServer.UrlFor(marker), message["annotations"]![0]!["url_citation"].Text("url"));
        Assert.Equal("Web search: 1 searches via brave", await gateway.AuditVerdictsAsync(response));

        await using var connection = await gateway.Services.GetRequiredService<Db>().OpenAsync();
        var stored = await connection.QuerySingleAsync<string>(
            "SELECT api_key_protected FROM provider_credentials WHERE provider = 'search:brave' AND workspace_id = (SELECT id FROM workspaces WHERE name = @workspace)", new { workspace = member.Workspace });
        Assert.DoesNotContain(braveKey, stored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WorkspaceSearxngAddress_IsUsedInsteadOfTheGateways()
    {
        using var member = await WorkspaceAsync(new SearchPolicy { Backend = "searxng", BaseUrl = gateway.Searx.UrlOf("team-searxng") });
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(member.Http, ChatApi.Request(member.Workspace, marker));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("team-searxng", Assert.Single(gateway.Searx.Searches, s => s.Query == marker).Engine);
    }

    [Fact]
    public async Task WorkspaceBackendNone_NoToolIsOfferedAndNothingSearched()
    {
        using var member = await WorkspaceAsync(new SearchPolicy { Backend = "none" });
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(member.Http, ChatApi.Request(member.Workspace, marker));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(FakeOpenAIServer.NoSearchAnswer, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"].Text("content"));
        Assert.Null(gateway.Upstream.RequestWith(marker).Json["tools"]);
        Assert.False(response.Headers.Contains("x-rampart-web-search"));
        Assert.DoesNotContain(marker, gateway.Searx.Queries);
    }

    [Fact]
    public async Task WorkspaceTavilyWithoutAnyKey_AnswersWithoutSearch_AndSaysWhy()
    {
        using var member = await WorkspaceAsync(new SearchPolicy { Backend = "tavily", BaseUrl = gateway.Searx.TavilyBaseUrl });
        var marker = ChatApi.NewMarker();

        using var response = await ChatApi.PostAsync(member.Http, ChatApi.Request(member.Workspace, marker));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(gateway.Upstream.RequestWith(marker).Json["tools"]);
        Assert.DoesNotContain(marker, gateway.Searx.Queries);
        var header = response.Headers.GetValues("x-rampart-web-search").Single();
        Assert.StartsWith("off; tavily has no API key for this workspace (set the search:tavily credential", header, StringComparison.Ordinal);
        Assert.Equal("Web search off: " + header["off; ".Length..], await gateway.AuditVerdictsAsync(response));
    }

    [Theory]
    [InlineData("""{"backend":"bing"}""", "search.backend must be one of searxng, brave, tavily, none (or left out for the gateway's backend), not 'bing'")]
    [InlineData("""{"base_url":"https://search.example.test"}""", "search.base_url needs search.backend (searxng, brave or tavily)")]
    [InlineData("""{"backend":"searxng","base_url":"ftp://search.example.test"}""", "search.base_url 'ftp://search.example.test' is not an absolute http(s) URL")]
    [InlineData("""{"backend":"brave","search_frist":true}""", "search_frist")]
    public async Task InvalidSearchPolicy_IsRefusedWithTheReason_AndTheOldPolicyStays(string search, string reason)
    {
        using var member = await WorkspaceAsync(new SearchPolicy { Backend = "none" });
        using var admin = gateway.Http(gateway.MasterKey);
        var policy = JsonNode.Parse($$"""{"provider":"openai","model":"{{FakeOpenAIServer.Models.Searcher}}","search":{{search}}}""")!;

        using var response = await admin.PutAsync($"api/v1/workspaces/{member.Workspace}/policy", ChatApi.Content(policy.AsObject()));
        var error = await ChatApi.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, error.Text("message"), StringComparison.Ordinal);
        var kept = JsonNode.Parse(await admin.GetStringAsync($"api/v1/workspaces/{member.Workspace}/policy"))!;
        Assert.Equal("none", kept["search"].Text("backend"));
    }

    [Theory]
    [InlineData("search:searxng", """{"api_key":"k-123456789"}""", "'search:searxng' is not a search credential: only search:brave and search:tavily take an API key")]
    [InlineData("search:brave", """{"api_key":"k-123456789","base_url":"https://brave.example.test"}""", "A search credential holds only the API key; set the address in the workspace policy's search.base_url.")]
    [InlineData("bing", """{"api_key":"k-123456789"}""", "Unknown provider 'bing'.")]
    public async Task InvalidSearchCredential_IsRefusedWithTheReason(string name, string body, string reason)
    {
        using var member = await WorkspaceAsync(new SearchPolicy());
        using var admin = gateway.Http(gateway.MasterKey);

        using var response = await admin.PutAsync($"api/v1/workspaces/{member.Workspace}/credentials/{name}", ChatApi.Content(JsonNode.Parse(body)!.AsObject()));
        var error = await ChatApi.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, error.Text("message"), StringComparison.Ordinal);
        Assert.DoesNotContain("k-123456789", error.ToJsonString(), StringComparison.Ordinal);
    }

    /// <summary>A workspace served by the searcher with the given search settings, and a member's client.</summary>
    private async Task<Member> WorkspaceAsync(SearchPolicy search)
    {
        var workspace = await gateway.Store.CreateWorkspaceAsync("ws-" + Guid.NewGuid().ToString("N")[..12],
            new WorkspacePolicy { Provider = "openai", Model = FakeOpenAIServer.Models.Searcher, Search = search }, default);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        return new Member(workspace.Name, gateway.Http(key));
    }

    private sealed record Member(string Workspace, HttpClient Http) : IDisposable
    {
        public void Dispose() => Http.Dispose();
    }
}
