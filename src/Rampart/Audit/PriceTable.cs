using System.Text.Json;
using System.Text.Json.Serialization;

namespace Rampart.Audit;

/// <summary>A model's list price in US dollars per million tokens.</summary>
internal sealed record ModelPrice(double Input, double Output);

/// <summary>
/// Prices for cost estimates: the defaults shipped in <c>Audit/prices.json</c>, overridden entry by entry by the file
/// named in <c>RAMPART_PRICES_FILE</c>. Keys are <c>provider/model</c>; <c>provider/*</c> covers the rest of a
/// provider. An unlisted model has no estimate rather than a wrong one.
/// </summary>
internal sealed class PriceTable : Limits.IPriceTable
{
    public const string FileSetting = "RAMPART_PRICES_FILE";

    private readonly Dictionary<string, ModelPrice> _prices;

    public PriceTable(IReadOnlyDictionary<string, ModelPrice> prices) =>
        _prices = new Dictionary<string, ModelPrice>(prices, StringComparer.OrdinalIgnoreCase);

    public int Count => _prices.Count;

    /// <summary>Reads the defaults and the operator's file; a missing or malformed file stops start-up with the reason.</summary>
    public static PriceTable Load(IConfiguration configuration)
    {
        using var defaults = typeof(PriceTable).Assembly.GetManifestResourceStream("Rampart.Audit.prices.json")
            ?? throw new InvalidOperationException("The default price table is missing from the build.");
        var prices = new Dictionary<string, ModelPrice>(Parse(defaults, "the default price table"), StringComparer.OrdinalIgnoreCase);

        if (configuration[FileSetting] is { Length: > 0 } path)
        {
            if (!File.Exists(path))
            {
                throw new InvalidOperationException($"{FileSetting} names '{path}', which does not exist.");
            }

            using var file = File.OpenRead(path);
            foreach (var (model, price) in Parse(file, path))
            {
                prices[model] = price;
            }
        }

        return new PriceTable(prices);
    }

    public ModelPrice? Find(string? provider, string? model)
    {
        if (provider is null)
        {
            return null;
        }

        return model is not null && _prices.TryGetValue($"{provider}/{model}", out var exact) ? exact
            : _prices.TryGetValue($"{provider}/*", out var any) ? any
            : null;
    }

    /// <summary>
    /// Spend for budgets: a model missing from the table is priced like a mid-size model ($2.50 / $10.00 per million
    /// tokens), so an unknown model never spends for free. (The audit's own figure stays null for unknown models.)
    /// </summary>
    public decimal CostUsd(string provider, string model, OpenAI.Usage usage)
    {
        var price = Find(provider, model) ?? UnknownModel;
        return ((usage.PromptTokens * (decimal)price.Input) + (usage.CompletionTokens * (decimal)price.Output)) / 1_000_000m;
    }

    private static readonly ModelPrice UnknownModel = new(2.50, 10.00);

    public double? Cost(string? provider, string? model, long promptTokens, long completionTokens) =>
        Find(provider, model) is { } price
            ? ((promptTokens * price.Input) + (completionTokens * price.Output)) / 1_000_000
            : null;

    private static Dictionary<string, ModelPrice> Parse(Stream json, string source)
    {
        PriceFile? file;
        try
        {
            file = JsonSerializer.Deserialize(json, PriceJson.Default.PriceFile);
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"The price table {source} is not valid JSON: {ex.Message}", ex);
        }

        var prices = file?.Prices ?? throw new InvalidOperationException($"The price table {source} has no \"prices\" object.");
        foreach (var (model, price) in prices)
        {
            if (!model.Contains('/', StringComparison.Ordinal) || price is null || price.Input < 0 || price.Output < 0)
            {
                throw new InvalidOperationException(
                    $"The price table {source} has an invalid entry '{model}': keys are \"provider/model\" and prices are non-negative dollars per million tokens.");
            }
        }

        return prices;
    }
}

internal sealed record PriceFile(Dictionary<string, ModelPrice>? Prices);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(PriceFile))]
internal sealed partial class PriceJson : JsonSerializerContext;
