using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Rampart.Operations;
using Rampart.Tests.Guardrails;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Operations;

/// <summary>A gateway whose <c>/metrics</c> needs a bearer token; its meter is its own, so the counts here are exact.</summary>
public sealed class OperationsGatewayFixture : GatewayFixture
{
    public string MetricsToken { get; } = "metrics-" + Guid.NewGuid().ToString("N");

    protected override void Configure(Dictionary<string, string?> settings) => settings[OperationsServices.MetricsTokenSetting] = MetricsToken;

    public async Task<IReadOnlyDictionary<string, double>> ScrapeAsync()
    {
        using var http = Http();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MetricsToken);
        using var response = await http.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        return PrometheusExposition.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// Scrapes until <paramref name="ready"/> holds. Request, token and block counts are recorded from a request's
    /// finished audit record, which can complete just after the caller has the answer: a test reads them this way.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, double>> ScrapeUntilAsync(Func<IReadOnlyDictionary<string, double>, bool> ready, string failure)
    {
        IReadOnlyDictionary<string, double> scrape = new Dictionary<string, double>();
        await Eventually.WaitUntilAsync(async () => ready(scrape = await ScrapeAsync()), failure);
        return scrape;
    }
}

[CollectionDefinition(Name)]
public sealed class OperationsGatewayTests : ICollectionFixture<OperationsGatewayFixture>
{
    public const string Name = "operations-gateway";
}

[Collection(OperationsGatewayTests.Name)]
public sealed class MetricsTests(OperationsGatewayFixture gateway)
{
    private const string Requests = "rampart_requests_total";
    private const string Blocks = "rampart_guardrail_blocks_total";

    [Fact]
    public async Task Metrics_WithoutTheToken_Returns401()
    {
        using var anonymous = gateway.Http();
        using var wrong = gateway.Http("not-the-token");

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Http(gateway.MasterKey).GetAsync("metrics")).StatusCode);
    }

    [Fact]
    public async Task SecretBlock_IncrementsTheBlockCounterAndTheWorkspacesBlockedRequests()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var before = await gateway.ScrapeAsync();
        var token = "ghp_" + FakeSecrets.R("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36);

        using var response = await ChatApi.PostAsync(gateway.Http(key), ChatApi.Request(workspace.Name, $"push with {token}"));
        (string, string)[] blockedRequest = [("outcome", "blocked"), ("route", "chat_completions"), ("status_class", "4xx"), ("workspace", workspace.Name)];
        var after = await gateway.ScrapeUntilAsync(m => m.Value(Requests, blockedRequest) > 0, "the request never showed up in the metrics");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before.Value(Blocks, ("kind", "secret")) + 1, after.Value(Blocks, ("kind", "secret")));
        Assert.Equal(1, after.Value(Requests, blockedRequest));
        Assert.Equal(before.Value(Blocks, ("kind", "pii")), after.Value(Blocks, ("kind", "pii")));
    }

    [Fact]
    public async Task PiiBlock_CountsAsAPiiBlock()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var before = await gateway.ScrapeAsync();
        var body = ChatApi.Request(workspace.Name, "write to ana.lopez@example.com please");
        body["pii"] = "block";

        using var response = await ChatApi.PostAsync(gateway.Http(key), body);
        var after = await gateway.ScrapeUntilAsync(
            m => m.Value(Requests, ("outcome", "blocked"), ("route", "chat_completions"), ("status_class", "4xx"), ("workspace", workspace.Name)) > 0,
            "the request never showed up in the metrics");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before.Value(Blocks, ("kind", "pii")) + 1, after.Value(Blocks, ("kind", "pii")));
        Assert.Equal(before.Value(Blocks, ("kind", "secret")), after.Value(Blocks, ("kind", "secret")));
    }

    [Fact]
    public async Task Completion_CountsTheRequest_ItsTokens_AndOneUpstreamCall()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var before = await gateway.ScrapeAsync();

        using var response = await ChatApi.PostAsync(gateway.Http(key), ChatApi.Request(workspace.Name, ChatApi.NewMarker()));
        var usage = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["usage"]!;
        (string, string)[] okRequest = [("outcome", "ok"), ("route", "chat_completions"), ("status_class", "2xx"), ("workspace", workspace.Name)];
        var after = await gateway.ScrapeUntilAsync(m => m.Value(Requests, okRequest) > 0, "the request never showed up in the metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, after.Value(Requests, okRequest));
        var tokens = new[] { ("model", FakeOpenAIServer.Models.Echo), ("provider", "openai"), ("workspace", workspace.Name) };
        Assert.Equal(usage["prompt_tokens"]!.GetValue<long>(), after.Value("rampart_tokens_total", [.. tokens, ("type", "prompt")]));
        Assert.Equal(usage["completion_tokens"]!.GetValue<long>(), after.Value("rampart_tokens_total", [.. tokens, ("type", "completion")]));
        Assert.Equal(before.Value("rampart_upstream_duration_seconds_count", ("provider", "openai")) + 1,
            after.Value("rampart_upstream_duration_seconds_count", ("provider", "openai")));
        Assert.True(after.Value("rampart_upstream_duration_seconds_sum", ("provider", "openai")) > before.Value("rampart_upstream_duration_seconds_sum", ("provider", "openai")));
        Assert.Equal(before.Value("rampart_request_duration_seconds_count", ("route", "chat_completions")) + 1,
            after.Value("rampart_request_duration_seconds_count", ("route", "chat_completions")));
    }

    [Theory]
    [InlineData(FakeOpenAIServer.Models.ServerError, "failed")]
    [InlineData(FakeOpenAIServer.Models.RateLimited, "rate_limited")]
    [InlineData(FakeOpenAIServer.Models.Unauthorized, "unauthorized")]
    public async Task UpstreamFailure_CountsAnUpstreamErrorOfItsClass(string model, string errorClass)
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(model);
        var before = await gateway.ScrapeAsync();

        using var response = await ChatApi.PostAsync(gateway.Http(key), ChatApi.Request(workspace.Name, ChatApi.NewMarker()));
        // Once the request is counted (from its audit record), its tokens would have been too.
        var after = await gateway.ScrapeUntilAsync(
            m => m.Keys.Any(k => k.StartsWith(Requests + "{", StringComparison.Ordinal) && k.Contains($"workspace=\"{workspace.Name}\"", StringComparison.Ordinal)),
            "the request never showed up in the metrics");

        Assert.False(response.IsSuccessStatusCode);
        const string errors = "rampart_upstream_errors_total";
        Assert.Equal(before.Value(errors, ("class", errorClass), ("provider", "openai")) + 1, after.Value(errors, ("class", errorClass), ("provider", "openai")));
        Assert.Equal(0, after.Value("rampart_tokens_total", ("model", model), ("provider", "openai"), ("type", "prompt"), ("workspace", workspace.Name)));
    }

    [Fact]
    public async Task OpenStream_IsCountedActive_UntilItEnds()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.SlowStream);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var http = gateway.Http(key);

        var response = await ChatApi.SendStreamingAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker(), stream: true), cancel.Token);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        Assert.StartsWith("data: ", await reader.ReadLineAsync(cancel.Token));
        var during = await gateway.ScrapeAsync();
        response.Dispose();

        Assert.Equal(1, during.Value("rampart_streams_active"));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await gateway.ScrapeAsync()).Value("rampart_streams_active") != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the stream was still counted active 10 s after the client left");
            await Task.Delay(50, cancel.Token);
        }
    }

    [Fact]
    public async Task Scrape_IsValidExposition_WithAuditAndAdmissionGauges()
    {
        var samples = await gateway.ScrapeAsync();

        Assert.True(samples.ContainsKey("rampart_audit_queue_depth"));
        Assert.Equal(0, samples["rampart_admission_preparing"]);
        Assert.Equal(0, samples["rampart_admission_queued"]);
        Assert.Equal(0, samples["rampart_admission_arriving"]);
        Assert.Equal(0, samples["rampart_audit_spooled_total"]);
        Assert.Contains(samples.Keys, k => k.StartsWith("dotnet_gc_collections_total", StringComparison.Ordinal));
    }
}
