using Rampart.Data;
using Rampart.Hosting;

namespace Rampart.Auth;

internal static class AuthServices
{
    public static IServiceCollection AddRampartAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<MasterKey>();
        services.AddSingleton<AccessCache>();
        // Its own wait for locks: counts that cannot be written soon stay in memory for the next flush, rather than
        // holding a thread (and a stop) for the database's default 30 s.
        services.AddSingleton(sp => new KeyUsageTracker(
            new AccessStore(sp.GetRequiredService<Db>().WithCommandTimeout(configuration.GetValue("Rampart:KeyUsageDatabaseTimeoutSeconds", 5)),
                sp.GetRequiredService<AccessChangeSignal>(), sp.GetRequiredService<TimeProvider>()),
            sp.GetRequiredService<TimeProvider>(), configuration, sp.GetRequiredService<ILogger<KeyUsageTracker>>()));
        services.AddSingleton(sp => new FirstStartReport(Console.Out, sp.GetRequiredService<IConfiguration>()));

        // After DatabaseStartup (registered with the data services): hosted services start in registration order.
        services.AddHostedService(sp => sp.GetRequiredService<AccessCache>());
        services.AddHostedService<AccessChangeListener>();
        services.AddHostedService(sp => sp.GetRequiredService<KeyUsageTracker>());

        services.AddSingleton<ApiKeyAuthentication>();
        return services;
    }
}
