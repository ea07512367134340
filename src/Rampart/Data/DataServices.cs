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
        // Hosted services start in registration order, and the database must be ready (migrated, bootstrapped, snapshot
        // loaded) before anything else runs: Data Protection's own hosted service, registered next, reads its key ring
        // from a table the migrations create (on a fresh PostgreSQL database it logged "relation does not exist").
        services.AddHostedService<Hosting.DatabaseStartup>();
        Providers.CredentialProtector.Configure(services.AddDataProtection(), db, Db.DataDirectory(configuration));
        services.AddSingleton<MigrationRunner>();
        services.AddSingleton<AccessChangeSignal>();
        services.AddSingleton<AccessStore>();
        return services;
    }
}
