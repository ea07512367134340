namespace Rampart.MockUpstream;

internal sealed record MockOptions(int Port, int LatencyMs, int Chunks, int ChunkDelayMs, Uri? ForwardTo, bool H2c)
{
    public static MockOptions From(string[] args)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables("MOCK_").AddCommandLine(args).Build();
        var options = new MockOptions(
            Port: configuration.GetValue("port", 19101),
            LatencyMs: configuration.GetValue("latency-ms", 0),
            Chunks: configuration.GetValue("chunks", 20),
            ChunkDelayMs: configuration.GetValue("chunk-delay-ms", 0),
            ForwardTo: configuration["forward-to"] is { Length: > 0 } forward ? new Uri(forward.TrimEnd('/') + "/") : null,
            H2c: configuration.GetValue("h2c", false));
        if (options.Port is <= 0 or > 65535 || options.LatencyMs < 0 || options.Chunks < 1 || options.ChunkDelayMs < 0)
        {
            throw new ArgumentException($"Invalid mock options: {options}. Need 0 < port ≤ 65535, latency-ms ≥ 0, chunks ≥ 1, chunk-delay-ms ≥ 0.");
        }

        return options;
    }
}
