using Rampart.Auth;

namespace Rampart.Data;

internal static class DataServices
{
    public static IServiceCollection AddRampartData(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(Db.FromConfiguration(configuration));
        Providers.CredentialProtector.Configure(services.AddDataProtection(), Db.DataDirectory(configuration));
        services.AddSingleton<MigrationRunner>();
        services.AddSingleton<AccessChangeSignal>();
        services.AddSingleton<AccessStore>();
        return services;
    }
}
