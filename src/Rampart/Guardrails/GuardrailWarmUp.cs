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
        var patterns = 0;
        var released = 0;
        // Every [GeneratedRegex] accessor of the secret and personal-data detectors (static, parameterless, returning Regex).
        foreach (var type in typeof(GuardrailWarmUp).Assembly.GetTypes().Where(t => t.Namespace is "Rampart.Guardrails.Secrets" or "Rampart.Guardrails.Pii"))
        {
            foreach (var method in type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            {
                if (method.ReturnType == typeof(Regex) && method.GetParameters().Length == 0 && !method.ContainsGenericParameters)
                {
                    var regex = (Regex)method.Invoke(null, null)!;
                    regex.IsMatch("warm up: a@example.com 4111 1111 1111 1111 AKIA");
                    released += RegexScratch.Release(regex);
                    patterns++;
                }
            }
        }

        _ = Secrets.SecretScanner.Default.Scan("warm up");
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var elapsed = TimeProvider.System.GetElapsedTime(started);
        LogWarmedUp(logger, patterns, released, elapsed.TotalMilliseconds);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Guardrail detectors built: {Patterns} patterns in {Milliseconds:F0} ms, {Released} construction-table entries released")]
    private static partial void LogWarmedUp(ILogger logger, int patterns, int released, double milliseconds);
}
