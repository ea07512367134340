using Rampart.Providers.Anthropic;
using System.Collections.Concurrent;
using Rampart.Providers.Demo;
using Rampart.Providers.Gemini;
using Rampart.Providers.OpenAICompatible;

namespace Rampart.Providers;

/// <summary>How one provider is reached: its wire protocol, base URL and credential.</summary>
internal sealed record ProviderSettings(string Name, string BaseUrl, string? ApiKey, bool IsConfigured);

/// <summary>
/// The providers this gateway knows, configured from <c>*_API_KEY</c> / <c>*_BASE_URL</c>. A provider counts as
/// configured when either is set (a keyless local server such as Ollama needs only a base URL).
/// </summary>
internal sealed class ProviderCatalog
{
    public const string DemoProviderName = DemoProvider.ProviderName;

    /// <summary>The named <see cref="HttpClient"/> every adapter uses (pooled connections, our own timeouts).</summary>
    public const string HttpClientName = "upstream";

    /// <summary>Every provider: its name, the prefix of its <c>*_API_KEY</c>/<c>*_BASE_URL</c> variables, its default base URL and its wire protocol.</summary>
    private static readonly ProviderDefinition[] Definitions =
    [
        new("openai", "OPENAI", "https://api.openai.com/v1", OpenAICompatibleProvider.Create),
        new("xai", "XAI", "https://api.x.ai/v1", OpenAICompatibleProvider.Create),
        new("deepseek", "DEEPSEEK", "https://api.deepseek.com/v1", OpenAICompatibleProvider.Create),
        new("azure", "AZURE_OPENAI", "", OpenAICompatibleProvider.CreateAzure),
        new("anthropic", "ANTHROPIC", "https://api.anthropic.com", AnthropicProvider.Create),
        new("google", "GEMINI", "https://generativelanguage.googleapis.com", GeminiProvider.Create),
    ];

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase) { ["grok"] = "xai", ["gemini"] = "google" };

    private readonly Dictionary<string, (ProviderSettings Settings, IChatProvider Provider, ProviderDefinition Definition)> _providers = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<(string WorkspaceId, string Provider), (ProviderCredential Credential, IChatProvider Provider)> _workspaceProviders = new();
    private readonly CredentialProtector _protector;
    private readonly ProviderContext _context;

    public ProviderCatalog(IConfiguration configuration, IHttpClientFactory httpClients, ILoggerFactory loggerFactory, CredentialProtector protector)
    {
        _protector = protector;
        Demo = new DemoProvider(TimeSpan.FromMilliseconds(configuration.GetValue("Rampart:DemoWordDelayMilliseconds", 15)));
        var context = _context = new ProviderContext(httpClients.CreateClient(HttpClientName), UpstreamTimeouts.FromConfiguration(configuration), loggerFactory, configuration);
        foreach (var definition in Definitions)
        {
            var (name, prefix, defaultBaseUrl, create) = definition;
            var apiKey = NonEmpty(configuration[$"{prefix}_API_KEY"]);
            var baseUrl = NonEmpty(configuration[$"{prefix}_BASE_URL"]) ?? NonEmpty(configuration[$"{prefix}_ENDPOINT"]);
            // A provider with no public default address (Azure: one per resource) needs its base URL to be usable.
            var configured = defaultBaseUrl.Length == 0 ? baseUrl is not null : apiKey is not null || baseUrl is not null;
            var settings = new ProviderSettings(name, (baseUrl ?? defaultBaseUrl).TrimEnd('/'), apiKey, configured);
            _providers[name] = (settings, create(settings, context), definition);
        }

        DemoFallback = configuration.GetValue("Rampart:DemoFallback", true);
    }

    public DemoProvider Demo { get; }

    /// <summary>Whether a provider without credentials is answered by the offline demo model (the default) or refused.</summary>
    public bool DemoFallback { get; }

    /// <summary>The variable holding a provider's key; not always its name upper-cased (google reads GEMINI_API_KEY).</summary>
    public static string KeyVariable(string provider) =>
        (Definitions.FirstOrDefault(d => d.Name == provider)?.EnvPrefix ?? provider.ToUpperInvariant()) + "_API_KEY";

    /// <summary>Whether <paramref name="provider"/> (or an alias) is a provider this gateway can speak to, configured or not.</summary>
    public static bool IsKnownName(string provider) =>
        Canonical(provider) is var name && (name == DemoProviderName || Definitions.Any(d => d.Name == name));

    public static string Canonical(string provider) => Aliases.TryGetValue(provider, out var canonical) ? canonical : provider.ToLowerInvariant();

    public bool IsKnown(string provider) =>
        string.Equals(Canonical(provider), DemoProviderName, StringComparison.Ordinal) || _providers.ContainsKey(Canonical(provider));

    /// <summary>
    /// The provider that serves <paramref name="provider"/>: itself when configured, else the offline demo
    /// (when allowed), else an error. Unknown providers return null.
    /// </summary>
    public ProviderChoice? Resolve(string provider, ProviderCredential? credential = null)
    {
        var name = Canonical(provider);
        if (credential is not null && _providers.TryGetValue(name, out var known))
        {
            return new ProviderChoice(ForWorkspace(credential, known.Settings, known.Definition), null, null);
        }

        if (name == DemoProviderName)
        {
            return new ProviderChoice(Demo, null, null);
        }

        if (!_providers.TryGetValue(name, out var entry))
        {
            return null;
        }

        if (entry.Settings.IsConfigured)
        {
            return new ProviderChoice(entry.Provider, null, null);
        }

        return DemoFallback
            ? new ProviderChoice(Demo.StandingInFor(name), name, null)
            : new ProviderChoice(null, null, new UpstreamError(UpstreamErrorKind.NotConfigured, name,
                $"The provider '{name}' has no credentials configured on this gateway (set {KeyVariable(name)})."));
    }

    /// <summary>Whether the model that would answer for <paramref name="provider"/> can call tools (the offline demo, standing in or not, cannot).</summary>
    public bool SupportsTools(string provider, ProviderCredential? credential) => Resolve(provider, credential)?.Provider?.SupportsTools != false;

    /// <summary>
    /// The adapter for a workspace's own credential: the gateway-wide settings with the workspace's key and base URL
    /// in their place. Built once per credential value; the key is decrypted only then.
    /// </summary>
    private IChatProvider ForWorkspace(ProviderCredential credential, ProviderSettings defaults, ProviderDefinition definition)
    {
        var slot = (credential.WorkspaceId, definition.Name);
        // The whole credential, not only its time: two instances may store different keys within the same millisecond.
        if (_workspaceProviders.TryGetValue(slot, out var cached) && cached.Credential == credential)
        {
            return cached.Provider;
        }

        // The gateway's own key goes only to the gateway's own address: a workspace that points the provider elsewhere
        // without a key of its own sends none, or a workspace admin could collect the gateway's key on a server of theirs.
        var baseUrl = credential.BaseUrl?.TrimEnd('/') ?? defaults.BaseUrl;
        var gatewayKey = string.Equals(baseUrl, defaults.BaseUrl, StringComparison.OrdinalIgnoreCase) ? defaults.ApiKey : null;
        var settings = defaults with
        {
            BaseUrl = baseUrl,
            ApiKey = credential.ApiKeyProtected is { } key ? _protector.Unprotect(key) : gatewayKey,
            IsConfigured = true,
        };
        var provider = definition.Create(settings, _context);
        _workspaceProviders[slot] = (credential, provider);
        return provider;
    }

    public IEnumerable<ProviderSettings> All => _providers.Values.Select(p => p.Settings);

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>
/// Who answers: <see cref="Provider"/>, or <see cref="Error"/>. <see cref="StandsInFor"/> names the unconfigured
/// provider the offline demo is answering for.
/// </summary>
internal sealed record ProviderChoice(IChatProvider? Provider, string? StandsInFor, UpstreamError? Error);

/// <summary>One provider's identity and how to build its adapter.</summary>
internal sealed record ProviderDefinition(string Name, string EnvPrefix, string DefaultBaseUrl, Func<ProviderSettings, ProviderContext, IChatProvider> Create);

/// <summary>What every adapter is built with.</summary>
internal sealed record ProviderContext(HttpClient Http, UpstreamTimeouts Timeouts, ILoggerFactory LoggerFactory, IConfiguration Configuration);

internal sealed record UpstreamTimeouts(TimeSpan Request, TimeSpan StreamIdle)
{
    public static UpstreamTimeouts FromConfiguration(IConfiguration configuration) => new(
        TimeSpan.FromSeconds(configuration.GetValue("Rampart:Upstream:TimeoutSeconds", 600.0)),
        TimeSpan.FromSeconds(configuration.GetValue("Rampart:Upstream:StreamIdleTimeoutSeconds", 120.0)));
}
