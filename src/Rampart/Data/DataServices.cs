using Rampart.Auth;

namespace Rampart.Data;

internal static class DataServices
{
    public static IServiceCollection AddRampartData(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TimeProvider.System);
        var db = Db.FromConfiguration(configuration);
        // Through a factory, so the container disposes it (and with it PostgreSQL's connection pool) at shutdown.
        services.AddSingleton(_ => db);
        Providers.CredentialProtector.Configure(services.AddDataProtection(), db, Db.DataDirectory(configuration));
        services.AddSingleton<MigrationRunner>();
        services.AddSingleton<AccessChangeSignal>();
        services.AddSingleton<AccessStore>();
        return services;
    }
}
