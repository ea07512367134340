using Rampart.OpenAI;

namespace Rampart.Limits;

/// <summary>What a request cost, in US dollars, from the provider's reported usage. Small on purpose, so the audit's price table can take its place.</summary>
internal interface IPriceTable
{
    decimal CostUsd(string provider, string model, Usage usage);
}

/// <summary>
/// List prices per million tokens (input, output) by model-id prefix, longest prefix first; the offline demo is free.
/// A model missing here is priced like a mid-size model ($2.50 / $10.00), so an unknown model never spends for free.
/// </summary>
internal sealed class StaticPriceTable : IPriceTable
{
    public static readonly (decimal Input, decimal Output) UnknownModel = (2.50m, 10.00m);

    private static readonly (string Prefix, decimal Input, decimal Output)[] Prices =
    [
        .. new (string, decimal, decimal)[]
        {
            ("gpt-4o-mini", 0.15m, 0.60m),
            ("gpt-4o", 2.50m, 10.00m),
            ("gpt-4.1-nano", 0.10m, 0.40m),
            ("gpt-4.1-mini", 0.40m, 1.60m),
            ("gpt-4.1", 2.00m, 8.00m),
            ("gpt-5-nano", 0.05m, 0.40m),
            ("gpt-5-mini", 0.25m, 2.00m),
            ("gpt-5", 1.25m, 10.00m),
            ("o4-mini", 1.10m, 4.40m),
            ("o3", 2.00m, 8.00m),
            ("claude-haiku-4", 1.00m, 5.00m),
            ("claude-sonnet-4", 3.00m, 15.00m),
            ("claude-opus-4", 15.00m, 75.00m),
            ("gemini-2.5-flash-lite", 0.10m, 0.40m),
            ("gemini-2.5-flash", 0.30m, 2.50m),
            ("gemini-2.5-pro", 1.25m, 10.00m),
            ("deepseek-chat", 0.27m, 1.10m),
            ("deepseek-reasoner", 0.55m, 2.19m),
            ("grok-3-mini", 0.30m, 0.50m),
            ("grok-4", 3.00m, 15.00m),
        }.OrderByDescending(p => p.Item1.Length),
    ];

    public decimal CostUsd(string provider, string model, Usage usage)
    {
        if (provider == Providers.ProviderCatalog.DemoProviderName)
        {
            return 0;
        }

        var (input, output) = UnknownModel;
        foreach (var (prefix, i, o) in Prices)
        {
            if (model.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                (input, output) = (i, o);
                break;
            }
        }

        return ((usage.PromptTokens * input) + (usage.CompletionTokens * output)) / 1_000_000m;
    }
}
