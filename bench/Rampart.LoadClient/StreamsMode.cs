using System.Diagnostics;

namespace Rampart.LoadClient;

/// <summary>
/// Opens many slow streams and holds them together: how many concurrent streams a gateway keeps, and its memory then.
/// Needs an upstream whose streams last longer than the opening and the hold (a mock with a long chunk delay).
/// </summary>
internal static class StreamsMode
{
    public static async Task<int> RunAsync(Arguments arguments, CancellationToken cancellationToken)
    {
        var requests = Requests.From(arguments);
        var count = arguments.Int("count", 10_000);
        var openConcurrency = arguments.Int("open-concurrency", 200);
        var hold = TimeSpan.FromSeconds(arguments.Int("hold-seconds", 10));
        var pid = arguments.OptionalInt("pid");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(arguments.Int("timeout-seconds", 180)));
        using var client = Requests.Client(Timeout.InfiniteTimeSpan);
        using var opening = new SemaphoreSlim(openConcurrency);
        using var release = new CancellationTokenSource();
        using var held = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, release.Token);

        var open = 0;
        var failed = 0;
        var endedEarly = 0;
        var failures = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var rssBefore = Requests.ResidentBytes(pid);
        var clock = Stopwatch.StartNew();

        var streams = Enumerable.Range(0, count).Select(_ => HoldOneAsync()).ToList();

        // Wait until every stream has either opened or failed (or the deadline passes), then hold them all open.
        while (Volatile.Read(ref open) + Volatile.Read(ref failed) < count && !deadline.IsCancellationRequested)
        {
            await Task.Delay(250, CancellationToken.None);
        }

        var openedIn = clock.Elapsed;
        var peakOpen = Volatile.Read(ref open) - Volatile.Read(ref endedEarly);
        var rssPeak = Requests.ResidentBytes(pid);
        if (!deadline.IsCancellationRequested)
        {
            await Task.Delay(hold, deadline.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        var stillOpen = Volatile.Read(ref open) - Volatile.Read(ref endedEarly);
        var rssAfterHold = Requests.ResidentBytes(pid);
        await release.CancelAsync();
        await Task.WhenAll(streams);

        foreach (var (reason, n) in failures.OrderByDescending(f => f.Value).Take(5))
        {
            Console.WriteLine($"failure {n}× {reason}");
        }

        Console.WriteLine(
            $"RESULT requested={count} opened={open} failed={failed} ended_early={endedEarly} peak_open={peakOpen} open_after_hold={stillOpen} " +
            $"opened_in_s={openedIn.TotalSeconds:F1} rss_before_mb={Requests.Mb(rssBefore)} rss_peak_mb={Requests.Mb(rssPeak)} rss_after_hold_mb={Requests.Mb(rssAfterHold)}");
        return peakOpen == count ? 0 : 1;

        async Task HoldOneAsync()
        {
            var opened = false;
            try
            {
                await opening.WaitAsync(deadline.Token);
                HttpResponseMessage response;
                var buffer = new byte[4096];
                Stream body;
                try
                {
                    using var request = requests.Create();
                    response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
                    if (!response.IsSuccessStatusCode)
                    {
                        Fail($"HTTP {(int)response.StatusCode}");
                        response.Dispose();
                        return;
                    }

                    body = await response.Content.ReadAsStreamAsync(deadline.Token);
                    if (await body.ReadAsync(buffer, deadline.Token) == 0)
                    {
                        Fail("stream ended before its first event");
                        response.Dispose();
                        return;
                    }
                }
                finally
                {
                    opening.Release();
                }

                opened = true;
                Interlocked.Increment(ref open);
                using (response)
                {
                    while (await body.ReadAsync(buffer, held.Token) > 0)
                    {
                    }
                }

                // The upstream finished the stream while it should have been held: the hold measured less than it claims.
                Interlocked.Increment(ref endedEarly);
            }
            catch (OperationCanceledException) when (held.IsCancellationRequested || deadline.IsCancellationRequested)
            {
                if (!opened && !release.IsCancellationRequested)
                {
                    Fail("timed out opening");
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                if (opened)
                {
                    Interlocked.Increment(ref endedEarly);
                }
                else
                {
                    Fail(e.Message);
                }
            }
        }

        void Fail(string reason)
        {
            Interlocked.Increment(ref failed);
            failures.AddOrUpdate(reason, 1, (_, n) => n + 1);
        }
    }
}
