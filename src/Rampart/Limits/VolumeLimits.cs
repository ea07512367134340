namespace Rampart.Limits;

/// <summary>
/// A workspace's volume limits: requests and tokens per minute and per day for each API key, each user and the
/// workspace as a whole, and an optional monthly spend budget. Any limit left out is not enforced.
/// </summary>
internal sealed record VolumeLimits
{
    public LimitSet? PerKey { get; set; }

    public LimitSet? PerUser { get; set; }

    public LimitSet? PerWorkspace { get; set; }

    /// <summary>What the workspace may spend per calendar month (UTC), estimated from usage and the price table.</summary>
    public decimal? MonthlyBudgetUsd { get; set; }

    /// <summary>Completion tokens assumed for a request without <c>max_tokens</c> until the provider reports its usage.</summary>
    public int? DefaultCompletionTokens { get; set; }

    [System.Text.Json.Serialization.JsonIgnore]
    public bool HasTokenLimits => new[] { PerKey, PerUser, PerWorkspace }.Any(s => s?.TokensPerMinute is not null || s?.TokensPerDay is not null);

    public string? Validate()
    {
        foreach (var (name, set) in new[] { ("per_key", PerKey), ("per_user", PerUser), ("per_workspace", PerWorkspace) })
        {
            if (set?.Validate() is { } problem)
            {
                return $"limits.{name}.{problem}";
            }
        }

        if (MonthlyBudgetUsd is < 0)
        {
            return "limits.monthly_budget_usd must not be negative";
        }

        return DefaultCompletionTokens is < 1 or > 1_000_000 ? "limits.default_completion_tokens must be between 1 and 1,000,000" : null;
    }
}

/// <summary>The limits for one scope; 0 refuses everything, null means unlimited.</summary>
internal sealed record LimitSet
{
    public long? RequestsPerMinute { get; set; }

    public long? RequestsPerDay { get; set; }

    public long? TokensPerMinute { get; set; }

    public long? TokensPerDay { get; set; }

    public string? Validate()
    {
        foreach (var (name, value) in new[] { ("requests_per_minute", RequestsPerMinute), ("requests_per_day", RequestsPerDay), ("tokens_per_minute", TokensPerMinute), ("tokens_per_day", TokensPerDay) })
        {
            if (value is < 0)
            {
                return $"{name} must not be negative";
            }
        }

        return null;
    }
}
