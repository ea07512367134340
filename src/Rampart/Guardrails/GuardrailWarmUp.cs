using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime;
using System.Text.RegularExpressions;

namespace Rampart.Guardrails;

/// <summary>
/// Builds every detector before the server takes its first request, then gives the build's scratch memory back.
/// The ≈ 50 linear-time (NonBacktracking) patterns are constructed on first use: left lazy, the first caller waits
/// for all of them, and the ≈ 75 MB of symbolic-automaton scratch they allocate stays in the process's resident
/// memory until a compacting collection returns it. Of what the patterns keep, the engine's construction tables
/// (17 of 23 MB) are released first (<see cref="RegexScratch"/>); see docs/benchmarks.md.
/// </summary>
internal sealed partial class GuardrailWarmUp(ILogger<GuardrailWarmUp> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var started = TimeProvider.System.GetTimestamp();
        var (patterns, released) = BuildDetectors();
        _ = Secrets.SecretScanner.Default.Scan("warm up");
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var elapsed = TimeProvider.System.GetElapsedTime(started);
        LogWarmedUp(logger, patterns, released, elapsed.TotalMilliseconds);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Builds, runs once and releases every pattern of the secret and personal-data detectors: each [GeneratedRegex]
    /// accessor (static, parameterless, returning Regex) of the two types that declare them. The types are named, not
    /// searched for, so that a Native AOT build keeps their methods for reflection; <c>GuardrailWarmUpTests</c> fails
    /// when a detector type is added to those namespaces and not here.
    /// </summary>
    internal static (int Patterns, int Released) BuildDetectors()
    {
        var secrets = Build(typeof(Secrets.SecretRules));
        var pii = Build(typeof(Pii.PiiScanner));
        return (secrets.Patterns + pii.Patterns, secrets.Released + pii.Released);
    }

    private static (int Patterns, int Released) Build(
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods)] Type detectors)
    {
        var patterns = 0;
        var released = 0;
        foreach (var method in detectors.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
        {
            if (method.ReturnType == typeof(Regex) && method.GetParameters().Length == 0 && !method.ContainsGenericParameters)
            {
                var regex = (Regex)method.Invoke(null, null)!;
                regex.IsMatch("warm up: a@example.com 4111 1111 1111 1111 AKIA");
                released += RegexScratch.Release(regex);
                patterns++;
            }
        }

        return (patterns, released);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Guardrail detectors built: {Patterns} patterns in {Milliseconds:F0} ms, {Released} construction-table entries released")]
    private static partial void LogWarmedUp(ILogger logger, int patterns, int released, double milliseconds);
}
