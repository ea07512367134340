using System.Reflection;
using System.Text.RegularExpressions;
using Rampart.Guardrails;

namespace Rampart.Tests.Guardrails;

/// <summary>
/// The warm-up names the detector types it builds (a Native AOT build cannot search the assembly for them); these
/// tests search, and fail when a detector's patterns would be left to the first request.
/// </summary>
public sealed class GuardrailWarmUpTests
{
    [Fact]
    public void BuildDetectors_BuildsEveryPatternOfTheSecretAndPersonalDataDetectors()
    {
        var accessors = typeof(GuardrailWarmUp).Assembly.GetTypes()
            .Where(t => t.Namespace is "Rampart.Guardrails.Secrets" or "Rampart.Guardrails.Pii")
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Where(m => m.ReturnType == typeof(Regex) && m.GetParameters().Length == 0 && !m.ContainsGenericParameters)
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}")
            .ToList();

        Assert.True(accessors.Count >= 40, $"expected the ≈ 45 secret and personal-data patterns, found {accessors.Count}");
        Assert.Equal(accessors.Count, GuardrailWarmUp.BuildDetectors().Patterns);
    }
}
