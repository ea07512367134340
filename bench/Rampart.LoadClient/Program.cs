using Rampart.LoadClient;

// The measurements wrk cannot make, for the load benchmark (bench/load/run.sh). Every mode is bounded in count and time.
//   ttfb    --url U --body FILE [--header "K: V"]… [--count 500] [--warmup 50]
//           sequential streamed requests: time to the first body byte and to the end of the stream
//   rate    --url U --body FILE [--header …]… [--rps 1000] [--seconds 20] [--warmup-seconds 5] [--pid P] [--rss-every 5]
//           open loop at a fixed rate (requests are sent on schedule whether or not earlier ones have answered);
//           latency percentiles, and the resident memory of process P sampled along the way
//   streams --url U --body FILE [--header …]… [--count 10000] [--open-concurrency 200] [--hold-seconds 10] [--pid P] [--timeout-seconds 180]
//           opens COUNT streams and keeps them open together, counts those that answered 200 with a first event,
//           reads P's resident memory at the peak, then closes them all
//   report  --dir RAW [--rate 1000] [--chunks 20]
//           the Markdown summary of the RESULT lines run.sh collected in RAW, with ratios and the targets
// Each measuring mode ends with one line "RESULT key=value …" for the report to read.
// Pinned to one core the runtime starts with a single pool thread; a few more keep completions from queueing behind each other.
ThreadPool.GetMinThreads(out var workers, out var completionPorts);
ThreadPool.SetMinThreads(Math.Max(workers, 8), Math.Max(completionPorts, 8));
try
{
    var arguments = Arguments.Parse(args);
    using var cancel = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
    return arguments.Mode switch
    {
        "ttfb" => await TtfbMode.RunAsync(arguments, cancel.Token),
        "rate" => await RateMode.RunAsync(arguments, cancel.Token),
        "streams" => await StreamsMode.RunAsync(arguments, cancel.Token),
        "report" => await ReportMode.RunAsync(arguments),
        _ => throw new ArgumentException($"Unknown mode '{arguments.Mode}': use ttfb, rate, streams or report."),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
