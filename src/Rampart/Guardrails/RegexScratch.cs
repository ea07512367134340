using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace Rampart.Guardrails;

/// <summary>
/// Gives back what .NET's linear-time (NonBacktracking) engine keeps from building a pattern. The engine turns the
/// pattern's character classes into decision diagrams with a solver whose memo tables (every union, intersection and
/// complement it computed) stay reachable from the finished matcher for as long as the <see cref="Regex"/> lives,
/// although matching never consults them again: it works on the bit sets made from those diagrams. For the ≈ 50
/// detector patterns that is 17 of their 23 MB (docs/benchmarks.md, "The regex engine's construction tables").
/// </summary>
/// <remarks>
/// The tables are private to the runtime, so they are reached by reflection: regex → its runner factory → matcher →
/// node builder → character-set solver, whose dictionaries are replaced with empty ones. Replacing (not clearing)
/// leaves any reader of the old tables undisturbed. Where the runtime is laid out differently the call does nothing
/// and returns 0; <c>RegexScratchTests</c> fails then, so that a runtime upgrade that moves the tables is noticed.
/// A Native AOT build keeps no metadata for the runtime's private fields, so there it does nothing and the tables stay
/// (docs/benchmarks.md, "Native AOT").
/// </remarks>
internal static class RegexScratch
{
    private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    private static readonly FieldInfo? Factory = typeof(Regex).GetField("factory", Instance);

    /// <summary>Drops <paramref name="regex"/>'s construction tables; returns how many entries they held (0 when there was nothing to drop).</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Not reached in a Native AOT build; in a JIT build the tables' types are whole.")]
    public static int Release(Regex regex)
    {
        if (!RuntimeFeature.IsDynamicCodeSupported || (regex.Options & RegexOptions.NonBacktracking) == 0 || Solver(regex) is not { } solver)
        {
            return 0;
        }

        var released = 0;
        foreach (var field in solver.GetType().GetFields(Instance))
        {
            if (field.FieldType.IsGenericType && field.FieldType.GetGenericTypeDefinition() == typeof(Dictionary<,>)
                && field.GetValue(solver) is ICollection { Count: > 0 } table)
            {
                released += table.Count;
                field.SetValue(solver, Activator.CreateInstance(field.FieldType));
            }
        }

        return released;
    }

    /// <summary>Releases and returns <paramref name="regex"/>, for use where a pattern is built.</summary>
    public static Regex Released(Regex regex)
    {
        Release(regex);
        return regex;
    }

    private static object? Solver(Regex regex)
    {
        var factory = Factory?.GetValue(regex);
        var matcher = Field(factory, "_matcher");
        var builder = Field(matcher, "_builder");
        return Field(builder, "_charSetSolver");
    }

    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Reached only past Release's Native AOT check; in a JIT build the runtime's fields are all there.")]
    private static object? Field(object? owner, string name) => owner?.GetType().GetField(name, Instance)?.GetValue(owner);
}
