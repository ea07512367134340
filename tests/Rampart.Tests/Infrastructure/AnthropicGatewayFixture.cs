namespace Rampart.Tests.Infrastructure;

/// <summary>The real gateway with a <see cref="FakeAnthropicServer"/> configured as the <c>anthropic</c> provider.</summary>
public sealed class AnthropicGatewayFixture : GatewayFixture, IAsyncLifetime
{
    public FakeAnthropicServer Anthropic { get; private set; } = null!;

    /// <summary>Generated per run, never a real secret.</summary>
    public string AnthropicKey { get; } = "sk-ant-test-" + Guid.NewGuid().ToString("N");

    // Re-implemented so the fake is listening before the gateway reads its URL in Configure.
    async Task IAsyncLifetime.InitializeAsync()
    {
        Anthropic = await FakeAnthropicServer.StartAsync(AnthropicKey);
        await InitializeAsync();
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await Anthropic.DisposeAsync();
    }

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["ANTHROPIC_API_KEY"] = AnthropicKey;
        settings["ANTHROPIC_BASE_URL"] = Anthropic.BaseUrl;
    }

    /// <summary>A workspace served by the fake's <paramref name="model"/> and a caller who belongs to it.</summary>
    internal async Task<(string Workspace, string Key)> WorkspaceWithCallerAsync(string model, string? persona = null)
    {
        var workspace = await CreateWorkspaceAsync(model, provider: "anthropic", persona: persona);
        var (_, key) = await CreateCallerAsync(workspace.Name);
        return (workspace.Name, key);
    }
}

[CollectionDefinition(Name)]
public sealed class AnthropicGatewayTests : ICollectionFixture<AnthropicGatewayFixture>
{
    public const string Name = "anthropic gateway";
}
