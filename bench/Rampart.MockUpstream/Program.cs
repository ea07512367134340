using Rampart.MockUpstream;

// A fast, fixed-behaviour OpenAI-compatible upstream for the load benchmark (bench/load/run.sh).
// Options (command line or environment, e.g. --port=19101 --latency-ms=0 --chunks=20 --chunk-delay-ms=0):
//   port            listen port on 127.0.0.1 (default 19101)
//   latency-ms      delay before the answer, or before the first chunk of a stream (default 0)
//   chunks          content chunks in a streamed answer (default 20)
//   chunk-delay-ms  time between two chunks of a stream, kept on a fixed schedule from the first (default 0)
//   h2c             speak only HTTP/2 without TLS (prior knowledge), like some local model servers (default false)
//   forward-to      instead of answering, relay every chat request to this upstream base URL (e.g.
//                   http://127.0.0.1:19101/v1) and its answer back, doing nothing else: the CPU floor of any gateway
//                   built on Kestrel and HttpClient, for the load benchmark's "pass-through" target
var options = MockOptions.From(args);
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Listen(System.Net.IPAddress.Loopback, options.Port, listen =>
        listen.Protocols = options.H2c ? Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2 : Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1);
    // 10,000 streams over a few HTTP/2 connections: let each carry many.
    kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxConcurrentConnections = null;
    kestrel.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
});

var app = builder.Build();
var answers = new MockAnswers(options.Chunks);
if (options.ForwardTo is { } upstream)
{
    var relay = new PassThrough(upstream);
    app.MapPost("/v1/chat/completions", relay.HandleAsync);
}
else
{
    app.MapPost("/v1/chat/completions", (HttpContext http) => MockEndpoint.HandleAsync(http, options, answers));
}


app.MapGet("/v1/models", () => Results.Text("""{"object":"list","data":[{"id":"mock","object":"model","created":0,"owned_by":"mock"}]}""", "application/json"));

Console.WriteLine(options.ForwardTo is { } to ? $"pass-through on http://127.0.0.1:{options.Port}/v1 to {to}" : $"mock upstream on http://127.0.0.1:{options.Port}/v1 latency={options.LatencyMs}ms chunks={options.Chunks} chunk-delay={options.ChunkDelayMs}ms");
await app.RunAsync();
