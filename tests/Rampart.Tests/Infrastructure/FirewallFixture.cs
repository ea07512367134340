using Microsoft.Extensions.DependencyInjection;

namespace Rampart.Tests.Infrastructure;

/// <summary>A gateway whose clock stands still until a test moves it, for allowed hours and exact rate-limit timing.</summary>
public sealed class FirewallFixture : GatewayFixture
{
    /// <summary>Monday 2 March 2026, 10:00 UTC: on a ten-minute boundary, so minute and day buckets start together.</summary>
    public static readonly DateTimeOffset Monday = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    public FakeClock Clock { get; } = new(Monday);

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<TimeProvider>(Clock);
}

/// <summary>The firewall tests share one fake-clock gateway and run one after another, each setting the clock it needs.</summary>
[CollectionDefinition(Name)]
public sealed class FirewallGatewayTests : ICollectionFixture<FirewallFixture>
{
    public const string Name = "firewall-gateway";
}
