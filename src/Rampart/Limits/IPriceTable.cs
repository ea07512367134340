using Rampart.OpenAI;

namespace Rampart.Limits;

/// <summary>What a request cost, in US dollars, from the provider's reported usage. Small on purpose, so the audit's price table can take its place.</summary>
internal interface IPriceTable
{
    decimal CostUsd(string provider, string model, Usage usage);
}
