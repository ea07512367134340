using System.ClientModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using OpenAI;
using OpenAI.Chat;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Bench;

/// <summary>
/// The load benchmark's own tools, run as <c>bench/load/run.sh</c> runs them (their built programs, in processes of their
/// own): the mock upstream and the pass-through must be what they stand for — an OpenAI-compatible provider and a
/// relay — to the official client, and the report must compute the figures docs/benchmarks.md quotes from the raw results.
/// </summary>
public sealed class LoadBenchmarkToolsTests
{
    [Fact]
    public async Task MockUpstream_AndThePassThroughBeforeIt_AnswerTheOfficialClient_WholeAndStreamed()
    {
        await using var mock = await BenchProcess.StartServerAsync("Rampart.MockUpstream", port => [$"--port={port}", "--chunks=5"]);
        await using var passThrough = await BenchProcess.StartServerAsync("Rampart.MockUpstream", port => [$"--port={port}", $"--forward-to={mock.BaseUrl}/v1"]);

        foreach (var target in new[] { mock, passThrough })
        {
            var chat = new ChatClient("mock", new ApiKeyCredential("sk-test-not-a-real-key"), new OpenAIClientOptions { Endpoint = new Uri(target.BaseUrl + "/v1") });

            ChatCompletion whole = await chat.CompleteChatAsync([new UserChatMessage("hello")]);
            Assert.Equal("This is the mock upstream answering. It says the same thing every time, quickly.", whole.Content[0].Text);
            Assert.Equal(ChatFinishReason.Stop, whole.FinishReason);
            Assert.Equal(28, whole.Usage.TotalTokenCount);

            var text = new StringBuilder();
            ChatFinishReason? finish = null;
            ChatTokenUsage? usage = null;
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hello")]))
            {
                foreach (var part in update.ContentUpdate)
                {
                    text.Append(part.Text);
                }

                finish ??= update.FinishReason;
                usage ??= update.Usage;
            }

            Assert.Equal("word0 word1 word2 word3 word4 ", text.ToString());
            Assert.Equal(ChatFinishReason.Stop, finish);
            Assert.Equal(5, usage?.OutputTokenCount);

            // A body that is not JSON gets the mock's 400 in OpenAI's error shape, relayed as it is by the pass-through.
            using var http = new HttpClient();
            using var refused = await http.PostAsync(target.BaseUrl + "/v1/chat/completions", new StringContent("not json", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("\"invalid_request_error\"", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Report_ComputesRatiosAddedLatencyAndItsSplit_AndMarksEachTarget()
    {
        var report = await ReportAsync(dir =>
        {
            File.WriteAllLines(Path.Combine(dir, "meta.txt"),
            [
                "date=2026-12-07 16:09 UTC", "machine=test machine", "command=bench/load/run.sh", "pinning=test pinning", "mock=test mock",
                "rampart_env=MALLOC_ARENA_MAX=2", "streams_requested=10000", "streams_attempted=10000", "nofile=65536", "compare=/tmp/base/out (HEAD~1)",
            ]);
            void Result(string name, string line) => File.WriteAllText(Path.Combine(dir, name + ".txt"), "some progress line\nRESULT " + line + "\n");
            foreach (var (target, rps) in new[] { ("direct", (40_000, 44_000)), ("passthrough", (16_000, 18_000)), ("rampart", (8_000, 9_000)), ("rampart-h2", (12_000, 13_500)), ("portkey", (800, 900)) })
            {
                Result($"wrk.small.{target}.1", $"requests=1 duration_us=1 rps={rps.Item1} p50_us=1000 p90_us=2000 p99_us=3000 max_us=9000 non2xx=0 connect_err=0 read_err=0 write_err=0 timeout_err=0");
                Result($"wrk.small.{target}.2", $"requests=1 duration_us=1 rps={rps.Item2} p50_us=1200 p90_us=2000 p99_us=3400 max_us=9000 non2xx=0 connect_err=0 read_err=0 write_err=0 timeout_err=0");
            }

            foreach (var (target, p50, p99, rss) in new[] { ("direct", (200, 220), (1000, 1200), "n/a"), ("passthrough", (250, 270), (2000, 2200), "n/a"), ("rampart", (400, 420), (2500, 2700), "148.0") })
            {
                Result($"rate.{target}.1", $"sent=20000 ok=20000 errors=0 achieved_rps=1000 p50_us={p50.Item1} p90_us=1 p99_us={p99.Item1} p999_us=1 max_us=1 max_lag_us=1 rss_start_mb={rss} rss_end_mb={rss} rss_max_mb={rss} rss_drift_pct=0.0");
                Result($"rate.{target}.2", $"sent=20000 ok=20000 errors=0 achieved_rps=1000 p50_us={p50.Item2} p90_us=1 p99_us={p99.Item2} p999_us=1 max_us=1 max_lag_us=1 rss_start_mb={(rss == "n/a" ? rss : "151.0")} rss_end_mb={(rss == "n/a" ? rss : "151.0")} rss_max_mb=1 rss_drift_pct=0.0");
            }

            // CPU per request: every target of one scenario, Rampart over HTTP/2 included.
            foreach (var (target, us, mock) in new[] { ("direct", 30.0, 0.0), ("passthrough", 60.0, 20.0), ("rampart", 100.0, 21.0), ("rampart-h2", 70.0, 12.5), ("portkey", 1000.0, 20.0) })
            {
                Result($"cpu.small.{target}", $"requests=80000 cpu_us_per_request={us.ToString("F1", CultureInfo.InvariantCulture)} mock_cpu_us_per_request={mock.ToString("F1", CultureInfo.InvariantCulture)}");
            }

            // The compare phase: this build and another side by side, round by round.
            Result("compare.small.1", "requests=40000 cpu_us_per_request=120.0 errors=0 other_requests=38000 other_cpu_us_per_request=150.0 other_errors=0");
            Result("compare.small.2", "requests=41000 cpu_us_per_request=110.0 errors=0 other_requests=39000 other_cpu_us_per_request=125.0 other_errors=2");

            // A per-request file (RATE_CSV=1) beside the results is not one of them.
            File.WriteAllText(Path.Combine(dir, "rate.rampart.1.csv"), "sent_ms,latency_us\n0.000,999999\n");
            File.WriteAllText(Path.Combine(dir, "soak.rampart.txt"),
                "rss t=5s 150.0 MB\nrss t=10s 151.0 MB\nRESULT sent=60000 ok=60000 errors=0 achieved_rps=1000 p50_us=300 p90_us=1 p99_us=3000 p999_us=1 max_us=1 max_lag_us=1 rss_start_mb=150.0 rss_end_mb=153.0 rss_max_mb=153.5 rss_drift_pct=2.0\n");
        });

        Assert.Contains("| small chat | 42,000 (40,000 / 44,000) | 17,000 (16,000 / 18,000) | 8,500 (8,000 / 9,000) | 850 (800 / 900) | 20 % | 50 % | 10.0× | 1.10 ms / 3.20 ms |", report, StringComparison.Ordinal);
        // Rampart calling the provider over HTTP/2: its own row, ratios to direct, Portkey and Rampart over HTTP/1.1, and its own targets.
        Assert.Contains("| small chat | 12,750 (12,000 / 13,500) | 30 % | 15.0× | 1.50× | 1.10 ms / 3.20 ms |", report, StringComparison.Ordinal);
        Assert.Contains("| Throughput ≥ 10× Portkey (small chat, Rampart calling the provider over HTTP/2) | 15.0× | yes |", report, StringComparison.Ordinal);
        Assert.Contains("| Throughput ≥ 50% of direct (small chat, Rampart calling the provider over HTTP/2) | 30 % | **no** |", report, StringComparison.Ordinal);
        Assert.Contains("| small chat | 30.0 | 60.0 | 100.0 | 1000.0 | 21.0 | 40.0 | 70.0 | 12.5 |", report, StringComparison.Ordinal);
        Assert.Contains("| Rampart | 1,000 | 0.41 ms | 0.00 ms | 2.60 ms |", report, StringComparison.Ordinal);
        Assert.Contains("Added by Rampart: **p50 0.20 ms, p99 1.50 ms**.", report, StringComparison.Ordinal);
        Assert.Contains("the second hop alone (pass-through − direct) is p50 0.05 ms, p99 1.00 ms; Rampart's own work (Rampart − pass-through) p50 0.15 ms, p99 0.50 ms.", report, StringComparison.Ordinal);
        Assert.Contains("Rampart's resident memory at the end of each fixed-rate run (after warm-up): 148 MB / 151 MB.", report, StringComparison.Ordinal);
        Assert.Contains("drift **+2.0%**", report, StringComparison.Ordinal);
        Assert.Contains("Samples: t=5s 150.0 MB, t=10s 151.0 MB.", report, StringComparison.Ordinal);
        Assert.Contains("| Throughput ≥ 10× Portkey (small chat) | 10.0× | yes |", report, StringComparison.Ordinal);
        Assert.Contains("| Throughput ≥ 50% of direct (small chat) | 20 % | **no** |", report, StringComparison.Ordinal);
        Assert.Contains("| Added latency at 1,000 RPS, p50 ≤ 0.3 ms | 0.20 ms | yes |", report, StringComparison.Ordinal);
        Assert.Contains("| Added latency at 1,000 RPS, p99 ≤ 1.5 ms | 1.50 ms | yes |", report, StringComparison.Ordinal);
        Assert.Contains("| RSS ≤ 150 MB steady at 1,000 RPS | 151 MB | **no** |", report, StringComparison.Ordinal);
        Assert.Contains("| RSS growth ≤ 5% over the soak (60 s) | +2.0% | yes |", report, StringComparison.Ordinal);
        Assert.Contains("This build against another (`/tmp/base/out (HEAD~1)`)", report, StringComparison.Ordinal);
        Assert.Contains("| small chat | 115.0 (120.0 / 110.0) | 137.5 (150.0 / 125.0) | 0.840 (0.800 / 0.880) | 0 / 2 |", report, StringComparison.Ordinal);
        // Scenarios without results for every target are left out rather than reported half.
        Assert.DoesNotContain("| 8 KB prompt |", report, StringComparison.Ordinal);
        Assert.DoesNotContain("Portkey (streaming)", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_OfTheComparePhaseAlone_HasTheSideBySideTable_AndNoTargets()
    {
        var report = await ReportAsync(dir =>
        {
            File.WriteAllLines(Path.Combine(dir, "meta.txt"), ["date=2026-12-07 21:45 UTC", "command=PHASES='compare' bench/load/run.sh", "compare=/tmp/base/out"]);
            File.WriteAllText(Path.Combine(dir, "compare.stream.1.txt"), "RESULT requests=30000 cpu_us_per_request=200.0 errors=0 other_requests=28000 other_cpu_us_per_request=250.0 other_errors=0\n");
        });

        Assert.Contains("| streaming | 200.0 (200.0) | 250.0 (250.0) | 0.800 (0.800) | 0 / 0 |", report, StringComparison.Ordinal);
        Assert.DoesNotContain("| small chat |", report, StringComparison.Ordinal);
        Assert.DoesNotContain("Targets of issue 6", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllocSites_AttachedToARunningProcess_NamesWhatItAllocatesAndWhere()
    {
        await using var mock = await BenchProcess.StartServerAsync("Rampart.MockUpstream", port => [$"--port={port}", "--chunks=5"]);
        using var http = new HttpClient();
        using var stop = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var body = new StringContent("""{"model":"mock","messages":[{"role":"user","content":"hello"}]}""", Encoding.UTF8, "application/json");
                using var answer = await http.PostAsync(mock.BaseUrl + "/v1/chat/completions", body);
            }
        });
        try
        {
            var report = await BenchProcess.RunAsync("Rampart.AllocSites",
                ["--pid", mock.ProcessId.ToString(CultureInfo.InvariantCulture), "--seconds", "3", "--top", "1000", "--frames", "40"]);

            Assert.Matches(@"^sampled [1-9][\d,]* bytes in 3 s", report);
            Assert.Contains("By type:", report, StringComparison.Ordinal);
            // Stacks are resolved to method names: the mock's request handler is among the allocating frames.
            Assert.Contains(report.Split('\n'), line => line.StartsWith("           ", StringComparison.Ordinal)
                && line.Contains("Rampart.MockUpstream.MockEndpoint", StringComparison.Ordinal));
        }
        finally
        {
            await stop.CancelAsync();
            await load;
        }
    }

    /// <summary>The report tool's output for the raw results <paramref name="write"/> puts in a fresh folder.</summary>
    private static async Task<string> ReportAsync(Action<string> write)
    {
        var dir = Directory.CreateTempSubdirectory("rampart-load-report-").FullName;
        try
        {
            write(dir);
            return await BenchProcess.RunAsync("Rampart.LoadClient", ["report", "--dir", dir, "--rate", "1000", "--chunks", "20"]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A benchmark tool as run.sh runs it: <c>dotnet bench/NAME/bin/CONFIGURATION/net10.0/NAME.dll</c>.</summary>
    private sealed class BenchProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private BenchProcess(Process process, string baseUrl)
        {
            _process = process;
            BaseUrl = baseUrl;
        }

        public string BaseUrl { get; }

        public int ProcessId => _process.Id;

        public static async Task<BenchProcess> StartServerAsync(string tool, Func<int, string[]> arguments)
        {
            var port = LoopbackPorts.Free();
            var server = new BenchProcess(Process.Start(StartInfo(tool, arguments(port)))!, $"http://127.0.0.1:{port}");
            server._process.OutputDataReceived += (_, e) => server.Keep(e.Data);
            server._process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
            server._process.BeginOutputReadLine();
            server._process.BeginErrorReadLine();
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                try
                {
                    using var models = await http.GetAsync(server.BaseUrl + "/v1/models");
                    if (models.IsSuccessStatusCode)
                    {
                        return server;
                    }
                }
                catch (HttpRequestException)
                {
                }

                if (server._process.HasExited || DateTime.UtcNow > deadline)
                {
                    await server.DisposeAsync();
                    throw new InvalidOperationException($"{tool} did not start listening on {server.BaseUrl}: {server.Output}");
                }

                await Task.Delay(100);
            }
        }

        /// <summary>Runs a tool to its end and returns its standard output; a non-zero exit fails the test with what it printed.</summary>
        public static async Task<string> RunAsync(string tool, string[] arguments)
        {
            var (exitCode, output, error) = await ProcessRun.ToEndAsync(StartInfo(tool, arguments), TimeSpan.FromSeconds(60));
            Assert.True(exitCode == 0, $"{tool} exited with {exitCode}: {error}");
            return output;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }

        private string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        private void Keep(string? line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }

        private static ProcessStartInfo StartInfo(string tool, string[] arguments)
        {
            // The test runs from tests/Rampart.Tests/bin/CONFIGURATION/net10.0/; the tools are built beside it (project
            // references without their assemblies, in Rampart.Tests.csproj) into their own bin folders.
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = output.Parent!.Name;
            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(Path.Combine(Repository.Root, "bench", tool, "bin", configuration, output.Name, tool + ".dll"));
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            return start;
        }
    }
}
