namespace Rampart.Limits;

internal static class LimitServices
{
    public static IServiceCollection AddRampartLimits(this IServiceCollection services)
    {
        services.AddSingleton<IVolumeLimiter, InMemoryVolumeLimiter>();
        services.AddSingleton<IPriceTable, StaticPriceTable>();
        return services;
    }
}
