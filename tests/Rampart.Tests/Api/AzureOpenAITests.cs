using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OpenAI.Chat;
using Rampart.Providers;
using Rampart.Tests.Infrastructure;
using Rampart.Workspaces;

namespace Rampart.Tests.Api;

/// <summary>A gateway whose <c>azure</c> provider points at the fake's Azure-shaped endpoint.</summary>
public sealed class AzureGatewayFixture : GatewayFixture
{
    public string AzureKey { get; } = "azure-test-" + Guid.NewGuid().ToString("N");

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["AZURE_OPENAI_API_KEY"] = AzureKey;
        // The fake serves Azure's paths at its root; OPENAI_BASE_URL ends in /v1.
        settings["AZURE_OPENAI_BASE_URL"] = Upstream.BaseUrl[..^"/v1".Length];
        settings["AZURE_OPENAI_API_VERSION"] = "2024-10-21";
    }
}

[CollectionDefinition(Name)]
public sealed class AzureGatewayTests : ICollectionFixture<AzureGatewayFixture>
{
    public const string Name = "azure gateway";
}

[Collection(AzureGatewayTests.Name)]
public sealed class AzureOpenAITests(AzureGatewayFixture gateway)
{
    [Fact]
    public async Task Deployment_IsCalledOnItsAzureUrl_WithApiKeyHeaderAndVersion()
    {
        var workspace = await gateway.Store.CreateWorkspaceAsync("azure-" + Guid.NewGuid().ToString("N")[..8],
            new WorkspacePolicy { Provider = "azure", Model = FakeOpenAIServer.Models.Echo, Persona = null }, default);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        var marker = ChatApi.NewMarker();

        var completion = (await gateway.Sdk(key).GetChatClient(workspace.Name).CompleteChatAsync([new UserChatMessage(marker)])).Value;
        var streamed = "";
        await foreach (var update in gateway.Sdk(key).GetChatClient(workspace.Name).CompleteChatStreamingAsync([new UserChatMessage(marker + " stream")]))
        {
            streamed += string.Concat(update.ContentUpdate.Select(p => p.Text));
        }

        var sent = gateway.Upstream.RequestWith(marker + "\"");
        Assert.Equal(FakeOpenAIServer.CompletionText, completion.Content[0].Text);
        Assert.Equal(string.Concat(FakeOpenAIServer.StreamPieces), streamed);
        Assert.Equal($"/openai/deployments/{FakeOpenAIServer.Models.Echo}/chat/completions?api-version=2024-10-21", sent.PathAndQuery);
        Assert.Equal(gateway.AzureKey, sent.ApiKey);
        Assert.Equal("", sent.Authorization);
    }

    [Fact]
    public void AzureWithoutABaseUrl_IsNotConfigured_EvenWithAKey()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AZURE_OPENAI_API_KEY"] = "k", ["Rampart:DemoFallback"] = "false" }).Build();
        var catalog = new ProviderCatalog(configuration, new ServiceCollection().AddHttpClient().BuildServiceProvider().GetRequiredService<IHttpClientFactory>(), NullLoggerFactory.Instance, new CredentialProtector(new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider()));

        Assert.Equal(503, catalog.Resolve("azure")!.Error!.ToApiError().Status);
    }

    [Fact]
    public async Task DirectAzureModelId_Works()
    {
        var (_, key) = await gateway.CreateCallerAsync("default");
        using var http = gateway.Http(key);

        var response = await ChatApi.PostAsync(http, ChatApi.Request("azure/" + FakeOpenAIServer.Models.Echo, ChatApi.NewMarker()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("azure", response.Headers.GetValues("x-rampart-provider").Single());
    }
}
