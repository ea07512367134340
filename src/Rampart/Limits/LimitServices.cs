using Rampart.Data;

namespace Rampart.Limits;

internal static class LimitServices
{
    public static IServiceCollection AddRampartLimits(this IServiceCollection services)
    {
        // On PostgreSQL every instance counts in the same tables; on SQLite there is one process, which counts in memory.
        services.AddSingleton<PostgresVolumeLimiter>();
        services.AddHostedService(sp => sp.GetRequiredService<PostgresVolumeLimiter>());
        services.AddSingleton<IVolumeLimiter>(sp => sp.GetRequiredService<Db>().Dialect == SqlDialect.Postgres
            ? sp.GetRequiredService<PostgresVolumeLimiter>()
            : ActivatorUtilities.CreateInstance<InMemoryVolumeLimiter>(sp));
        // One price table for audit costs and budgets: the audit's (defaults plus RAMPART_PRICES_FILE).
        services.AddSingleton<IPriceTable>(sp => sp.GetRequiredService<Audit.PriceTable>());
        return services;
    }
}
