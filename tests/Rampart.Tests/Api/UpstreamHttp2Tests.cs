using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Rampart.Providers;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

/// <summary>A gateway whose OpenAI-compatible upstream speaks only HTTP/2 without TLS (h2c), with prior knowledge turned on.</summary>
public sealed class H2cGatewayFixture : GatewayFixture, IAsyncLifetime
{
    private LoopbackServer? _h2c;

    public ConcurrentQueue<string> Protocols { get; } = new();

    async Task IAsyncLifetime.InitializeAsync()
    {
        _h2c = await LoopbackServer.StartAsync(app => app.MapPost("/v1/chat/completions", (HttpContext http) =>
        {
            Protocols.Enqueue(http.Request.Protocol);
            return Results.Text(
                """{"id":"chatcmpl-h2","object":"chat.completion","created":1,"model":"h2-model","choices":[{"index":0,"message":{"role":"assistant","content":"over h2c"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}""",
                "application/json");
        }), http2Only: true);
        await InitializeAsync();
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await _h2c!.DisposeAsync();
    }

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["OPENAI_BASE_URL"] = _h2c!.BaseUrl + "/v1";
        settings[UpstreamHttpVersion.Setting] = "true";
    }
}

[CollectionDefinition(Name)]
public sealed class H2cGatewayTests : ICollectionFixture<H2cGatewayFixture>
{
    public const string Name = "h2c gateway";
}

[Collection(H2cGatewayTests.Name)]
public sealed class UpstreamHttp2Tests(H2cGatewayFixture gateway)
{
    [Fact]
    public async Task CleartextHttp2On_AnH2cOnlyUpstreamAnswers_OverHttp2()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(model: "h2-model");
        using var http = gateway.Http(key);

        var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, "hello"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("over h2c", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"]!["content"]);
        Assert.Equal("HTTP/2", Assert.Single(gateway.Protocols));
    }
}
