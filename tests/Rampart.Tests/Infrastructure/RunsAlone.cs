namespace Rampart.Tests.Infrastructure;

/// <summary>
/// Tests the runner starts only after the parallel collections have finished, one class at a time. Three kinds belong
/// here: tests that observe something process-wide the others would disturb (the OTLP exporter listens to every
/// gateway's meter in the process); tests that load the whole machine for seconds (they start PostgreSQL servers and
/// nginx, fork a hundred database backends at once, restart a server under load); and tests whose assertion is a
/// wall-clock bound of about a second (a change made by another process applies within a second). The last two do not
/// mix: on two CPUs the heavy tests, or any CPU-bound neighbour, kept thread-pool work waiting for up to a second, and
/// in CI a key revoked by the CLI took longer than a second to stop working for that reason, not the code's.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAlone
{
    public const string Name = "runs alone";
}
