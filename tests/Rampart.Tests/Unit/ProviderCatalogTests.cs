using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Providers;

namespace Rampart.Tests.Unit;

public sealed class ProviderCatalogTests
{
    [Fact]
    public void ConfiguredProvider_IsServedByItself()
    {
        var catalog = Catalog(new() { ["OPENAI_API_KEY"] = "sk-test-fake" });

        var choice = catalog.Resolve("openai")!;

        Assert.Equal("openai", choice.Provider!.Name);
        Assert.Null(choice.StandsInFor);
    }

    [Fact]
    public void BaseUrlAlone_CountsAsConfigured_ForKeylessLocalServers()
    {
        var catalog = Catalog(new() { ["DEEPSEEK_BASE_URL"] = "http://127.0.0.1:11434/v1" });

        Assert.Equal("deepseek", catalog.Resolve("deepseek")!.Provider!.Name);
    }

    [Fact]
    public void UnconfiguredProvider_FallsBackToDemo_ByDefault()
    {
        var choice = Catalog(new())!.Resolve("openai")!;

        Assert.Equal("local", choice.Provider!.Name);
        Assert.Equal("openai", choice.StandsInFor);
    }

    [Fact]
    public void UnconfiguredProvider_WithDemoFallbackOff_IsAnError()
    {
        var choice = Catalog(new() { ["Rampart:DemoFallback"] = "false" }).Resolve("xai")!;

        Assert.Null(choice.Provider);
        Assert.Equal(503, choice.Error!.ToApiError().Status);
        Assert.Contains("XAI_API_KEY", choice.Error.Message);
    }

    [Fact]
    public void UnconfiguredGoogle_NamesItsKeyVariable_GeminiApiKey()
    {
        var choice = Catalog(new() { ["Rampart:DemoFallback"] = "false" }).Resolve("gemini")!;

        Assert.Contains("GEMINI_API_KEY", choice.Error!.Message);
    }

    [Theory]
    [InlineData("grok", "xai")]
    [InlineData("GROK", "xai")]
    [InlineData("OpenAI", "openai")]
    [InlineData("deepseek", "deepseek")]
    [InlineData("gemini", "google")]
    public void ProviderNames_AreCanonicalised(string given, string canonical) =>
        Assert.Equal(canonical, ProviderCatalog.Canonical(given));

    [Fact]
    public void UnknownProvider_ResolvesToNull()
    {
        var catalog = Catalog(new());

        Assert.Null(catalog.Resolve("nope"));
        Assert.False(catalog.IsKnown("nope"));
        Assert.True(catalog.IsKnown("local"));
        Assert.True(catalog.IsKnown("grok"));
    }

    private static ProviderCatalog Catalog(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var httpClients = new ServiceCollection().AddHttpClient().BuildServiceProvider().GetRequiredService<IHttpClientFactory>();
        return new ProviderCatalog(configuration, httpClients, NullLoggerFactory.Instance, new CredentialProtector(new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider()));
    }
}
