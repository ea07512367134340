using System.Net;

namespace Rampart.Providers;

internal static class ProviderServices
{
    public static IServiceCollection AddRampartProviders(this IServiceCollection services)
    {
        services.AddHttpClient(ProviderCatalog.HttpClientName)
            // Timeouts are ours (per request, and idle per stream event), so the client's own is off.
            .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = TimeSpan.FromSeconds(10),
                AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate | DecompressionMethods.Brotli,
                UseCookies = false,
                AllowAutoRedirect = false,
            })
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
