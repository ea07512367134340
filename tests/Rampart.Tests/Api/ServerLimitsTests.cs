using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Rampart.Hosting;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

/// <summary>A gateway whose request bodies are capped at 1 MB.</summary>
public sealed class SmallBodyGatewayFixture : GatewayFixture
{
    protected override void Configure(Dictionary<string, string?> settings) => settings["RAMPART_MAX_REQUEST_BODY_MB"] = "1";
}

[CollectionDefinition(Name)]
public sealed class SmallBodyGatewayTests : ICollectionFixture<SmallBodyGatewayFixture>
{
    public const string Name = "small body gateway";
}

/// <summary>Kestrel's limits as the gateway sets them, on a real Kestrel.</summary>
[Collection(SmallBodyGatewayTests.Name)]
public sealed class ServerLimitsTests(SmallBodyGatewayFixture gateway)
{
    [Fact]
    public async Task BodyOverTheLimit_Returns413InTheErrorEnvelope_AndTheNextRequestIsServed()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);

        var tooBig = ChatApi.Request(workspace.Name, new string('a', 1536 * 1024));
        var refused = await ChatApi.PostAsync(http, tooBig);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("The request body is larger than this gateway accepts.", (string?)error["message"]);
        Assert.Equal("invalid_request_error", (string?)error["type"]);

        var marker = ChatApi.NewMarker();
        var fine = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, marker + new string('b', 512 * 1024)));
        Assert.Equal(HttpStatusCode.OK, fine.StatusCode);
    }

    [Fact]
    public void Connections_AreCappedByTheOpenFilesLimit_WhenNotSet()
    {
        var kestrel = gateway.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value;

        Assert.Equal(ServerLimits.DefaultMaxConnections(ServerLimits.OpenFilesLimit()), kestrel.Limits.MaxConcurrentConnections);
        if (OperatingSystem.IsLinux())
        {
            Assert.NotNull(kestrel.Limits.MaxConcurrentConnections);
        }
    }

    [Fact]
    public async Task Responses_CarryNoServerBanner()
    {
        using var http = gateway.Http();
        var response = await http.GetAsync("api/v1/models");

        Assert.Empty(response.Headers.Server);
    }
}
