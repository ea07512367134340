using System.Net;

namespace Rampart.Providers;

internal static class ProviderServices
{
    public static IServiceCollection AddRampartProviders(this IServiceCollection services, IConfiguration configuration)
    {
        var cleartextHttp2 = configuration.GetValue(UpstreamHttpVersion.Setting, false);
        services.AddHttpClient(ProviderCatalog.HttpClientName)
            // Timeouts are ours (per request, and idle per stream event), so the client's own is off.
            .ConfigureHttpClient(client =>
            {
                client.Timeout = Timeout.InfiniteTimeSpan;
                client.MaxResponseContentBufferSize = UpstreamHttp.MaxAnswerBytes;
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = TimeSpan.FromSeconds(10),
                AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate | DecompressionMethods.Brotli,
                UseCookies = false,
                AllowAutoRedirect = false,
                // A provider's HTTP/2 connection carries at most ~100 streams; open more rather than queue behind them.
                EnableMultipleHttp2Connections = true,
            })
            .AddHttpMessageHandler(() => new UpstreamHttpVersion(cleartextHttp2))
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            // The factory's logging handlers add two scopes and four log calls to every upstream call; the router
            // already logs what matters (retries, fallbacks, breaker state) without URLs or content.
            .RemoveAllLoggers();
        services.AddSingleton<CredentialProtector>();
        services.AddSingleton<ProviderCatalog>();
        services.AddSingleton<Routing.CircuitBreakers>();
        services.AddSingleton<Routing.Router>();
        return services;
    }
}
