using Rampart.Limits;

namespace Rampart.Guardrails.Rules;

internal static class FirewallServices
{
    public static IServiceCollection AddRampartFirewall(this IServiceCollection services)
    {
        services.AddHostedService<GuardrailWarmUp>();
        services.AddRampartLimits();
        services.AddSingleton<TopicJudge>();
        services.AddSingleton<Firewall>();
        return services;
    }
}
