using Microsoft.AspNetCore.Authentication;
using Rampart.Hosting;

namespace Rampart.Auth;

internal static class AuthServices
{
    public static IServiceCollection AddRampartAuth(this IServiceCollection services)
    {
        services.AddSingleton<MasterKey>();
        services.AddSingleton<AccessCache>();
        services.AddSingleton<KeyUsageTracker>();
        services.AddSingleton(sp => new FirstStartReport(Console.Out, sp.GetRequiredService<IConfiguration>()));

        // Order matters: hosted services start in registration order, and the database must be ready
        // (migrated, bootstrapped, snapshot loaded) before anything else runs.
        services.AddHostedService<DatabaseStartup>();
        services.AddHostedService(sp => sp.GetRequiredService<AccessCache>());
        services.AddHostedService<AccessChangeListener>();
        services.AddHostedService(sp => sp.GetRequiredService<KeyUsageTracker>());

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorization();
        return services;
    }
}
