using System.Diagnostics;
using System.Globalization;

namespace Rampart.LoadClient;

/// <summary>
/// Open loop at a fixed rate: request i is sent at i / rps seconds whether or not earlier ones have answered,
/// so a slow answer does not hide the ones that would have queued behind it (what wrk2 does; wrk2 is not in Debian).
/// </summary>
internal static class RateMode
{
    public static async Task<int> RunAsync(Arguments arguments, CancellationToken cancellationToken)
    {
        var requests = Requests.From(arguments);
        var rps = arguments.Int("rps", 1000);
        var seconds = arguments.Int("seconds", 20);
        var warmupSeconds = arguments.Int("warmup-seconds", 5);
        var pid = arguments.OptionalInt("pid");
        var rssEvery = TimeSpan.FromSeconds(arguments.Int("rss-every", 5));
        using var client = Requests.Client(TimeSpan.FromSeconds(30));

        await RunPhaseAsync(client, requests, rps, warmupSeconds, pid: null, rssEvery, cancellationToken);
        var rssStart = Requests.ResidentBytes(pid);
        var phase = await RunPhaseAsync(client, requests, rps, seconds, pid, rssEvery, cancellationToken);
        var rssEnd = Requests.ResidentBytes(pid);
        if (arguments.OptionalText("latencies-csv") is { } csv)
        {
            // One line per request of the measured phase, in send order: when it left (ms from the start) and how long it took (µs; -1 failed).
            // The start's wall clock goes to standard error, to line the file up with what else was recorded at the time.
            Console.Error.WriteLine($"latencies: measured phase started at unix_ms={phase.StartedUnixMs}, one line per request in {csv}");
            await File.WriteAllLinesAsync(csv, phase.Latencies.Select((t, i) =>
                $"{(i * 1000.0 / rps).ToString("F3", CultureInfo.InvariantCulture)},{(t > 0 ? Requests.Us(Requests.Microseconds(t)) : "-1")}").Prepend("sent_ms,latency_us"), cancellationToken);
        }


        var latencies = phase.Latencies.Where(t => t > 0).Order().ToArray();
        var drift = rssStart > 0 && rssEnd > 0 ? (rssEnd - rssStart) * 100.0 / rssStart : double.NaN;
        Console.WriteLine(
            $"RESULT sent={phase.Latencies.Length} ok={latencies.Length} errors={phase.Errors} achieved_rps={(latencies.Length / phase.Elapsed.TotalSeconds).ToString("F0", CultureInfo.InvariantCulture)} " +
            $"p50_us={Requests.Us(Requests.Percentile(latencies, 50))} p90_us={Requests.Us(Requests.Percentile(latencies, 90))} p99_us={Requests.Us(Requests.Percentile(latencies, 99))} p999_us={Requests.Us(Requests.Percentile(latencies, 99.9))} max_us={Requests.Us(Requests.Percentile(latencies, 100))} " +
            $"max_lag_us={Requests.Us(Requests.Microseconds(phase.MaxLag))} rss_start_mb={Requests.Mb(rssStart)} rss_end_mb={Requests.Mb(rssEnd)} rss_max_mb={Requests.Mb(Math.Max(phase.RssMax, rssEnd))} rss_drift_pct={drift.ToString("F1", CultureInfo.InvariantCulture)}");
        return phase.Errors == 0 ? 0 : 1;
    }

    private sealed record Phase(long[] Latencies, int Errors, TimeSpan Elapsed, long MaxLag, long RssMax, long StartedUnixMs);

    private static async Task<Phase> RunPhaseAsync(HttpClient client, Requests requests, int rps, int seconds, int? pid, TimeSpan rssEvery, CancellationToken cancellationToken)
    {
        var total = rps * seconds;
        var latencies = new long[total];
        var errors = 0;
        var inFlight = new List<Task>(total);
        var interval = (double)Stopwatch.Frequency / rps;
        var start = Stopwatch.GetTimestamp();
        var startedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long maxLag = 0;
        var rssMax = Requests.ResidentBytes(pid);
        var nextRss = start + (long)(rssEvery.TotalSeconds * Stopwatch.Frequency);

        // The schedule runs on a thread of its own: sleeping on a pool thread would starve the pool that completes the requests.
        await Task.Factory.StartNew(() =>
        {
            for (var i = 0; i < total && !cancellationToken.IsCancellationRequested; i++)
            {
                var due = start + (long)(i * interval);
                while (Stopwatch.GetTimestamp() < due)
                {
                    // About a millisecond of granularity: good enough for a schedule, without burning the load generator's core.
                    Thread.Sleep(1);
                }

                maxLag = Math.Max(maxLag, Stopwatch.GetTimestamp() - due);
                inFlight.Add(SendOneAsync(i));

                if (pid is not null && Stopwatch.GetTimestamp() >= nextRss)
                {
                    var rss = Requests.ResidentBytes(pid);
                    rssMax = Math.Max(rssMax, rss);
                    Console.WriteLine($"rss t={Requests.Microseconds(Stopwatch.GetTimestamp() - start) / 1e6:F0}s {Requests.Mb(rss)} MB");
                    nextRss += (long)(rssEvery.TotalSeconds * Stopwatch.Frequency);
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        await Task.WhenAll(inFlight);
        return new Phase(latencies, errors, Stopwatch.GetElapsedTime(start), maxLag, rssMax, startedUnixMs);

        // Called on the schedule thread: the request is written before the first await, so the clock starts on time.
        async Task SendOneAsync(int index)
        {
            var sent = Stopwatch.GetTimestamp();
            try
            {
                using var request = requests.Create();
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    latencies[index] = Stopwatch.GetTimestamp() - sent;
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            Interlocked.Increment(ref errors);
        }
    }
}
