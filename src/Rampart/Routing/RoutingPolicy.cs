namespace Rampart.Routing;

/// <summary>
/// A workspace's routing: how long a provider may take, how often a retryable failure is retried, and which
/// <c>provider/model</c> targets to fall back to, in order, when the primary cannot answer.
/// </summary>
internal sealed record RoutingPolicy
{
    /// <summary>Time for a provider to answer (the whole answer, or until a stream opens); null uses the gateway default.</summary>
    public double? TimeoutSeconds { get; set; }

    /// <summary>Retries per target for retryable failures (429, 5xx, timeouts, connection failures); null uses the gateway default (2). 0 disables.</summary>
    public int? Retries { get; set; }

    /// <summary>Targets tried in order after the primary, e.g. <c>anthropic/claude-sonnet-4-5</c>.</summary>
    public IReadOnlyList<string> Fallbacks { get; set; } = [];

    public string? Validate()
    {
        if (TimeoutSeconds is <= 0 or > 3600)
        {
            return "routing.timeout_seconds must be between 0 and 3600";
        }

        if (Retries is < 0 or > 10)
        {
            return "routing.retries must be between 0 and 10";
        }

        var bad = Fallbacks.FirstOrDefault(f => f.IndexOf('/', StringComparison.Ordinal) is <= 0 || f.EndsWith('/'));
        return bad is null ? null : $"routing.fallbacks entry '{bad}' is not a provider/model id";
    }
}

/// <summary>One place a request can be served: a provider and that provider's model id.</summary>
internal sealed record RouteTarget(string Provider, string Model)
{
    public override string ToString() => $"{Provider}/{Model}";

    public static RouteTarget Parse(string id)
    {
        var slash = id.IndexOf('/', StringComparison.Ordinal);
        return new RouteTarget(Providers.ProviderCatalog.Canonical(id[..slash]), id[(slash + 1)..]);
    }
}
