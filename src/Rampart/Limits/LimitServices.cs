namespace Rampart.Limits;

internal static class LimitServices
{
    public static IServiceCollection AddRampartLimits(this IServiceCollection services)
    {
        services.AddSingleton<IVolumeLimiter, InMemoryVolumeLimiter>();
        // One price table for audit costs and budgets: the audit's (defaults plus RAMPART_PRICES_FILE).
        services.AddSingleton<IPriceTable>(sp => sp.GetRequiredService<Audit.PriceTable>());
        return services;
    }
}
