using System.Globalization;
using System.Text;

namespace Rampart.LoadClient;

/// <summary>
/// Turns the RESULT lines that run.sh collected into the Markdown summary for docs/benchmarks.md,
/// with the ratios and the issue's targets marked met or not.
/// </summary>
internal static class ReportMode
{
    private static readonly string[] Targets = ["direct", "rampart", "portkey"];
    private static readonly string[] CpuTargets = ["direct", "passthrough", "rampart", "portkey"];
    private static readonly string[] Scenarios = ["small", "large", "stream"];
    private static readonly Dictionary<string, string> ScenarioNames = new()
    {
        ["small"] = "small chat",
        ["large"] = "8 KB prompt",
        ["stream"] = "streaming",
    };

    public static Task<int> RunAsync(Arguments arguments)
    {
        var dir = arguments.Text("dir");
        var rate = arguments.Int("rate", 1000);
        var chunks = arguments.Int("chunks", 20);
        var meta = File.ReadLines(Path.Combine(dir, "meta.txt"))
            .Select(line => line.Split('=', 2))
            .Where(pair => pair.Length == 2)
            .ToDictionary(pair => pair[0], pair => pair[1]);
        var checks = new List<(string Target, string Figure, bool? Met)>();
        var md = new StringBuilder();

        md.AppendLine(CultureInfo.InvariantCulture, $"### Run of {meta.GetValueOrDefault("date")}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"- Machine: {meta.GetValueOrDefault("machine")}; load average (1, 5, 15 min) {meta.GetValueOrDefault("load_before")} before the run and {meta.GetValueOrDefault("load_after")} after it");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Command: `{meta.GetValueOrDefault("command")}`");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Pinning: {meta.GetValueOrDefault("pinning")}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Mock upstream: {meta.GetValueOrDefault("mock")}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Rampart's environment besides its address: {(meta.GetValueOrDefault("rampart_env") is { Length: > 0 } env ? $"`{env}`" : "nothing")}");
        md.AppendLine();

        // Throughput.
        var throughputRan = Directory.EnumerateFiles(dir, "wrk.*.txt").Any();
        md.AppendLine(throughputRan ? "Throughput (wrk, closed loop; mean of the interleaved rounds, each round's figure in brackets):" : "(No throughput runs.)");
        md.AppendLine();
        if (throughputRan)
        {
            md.AppendLine("| Scenario | Direct req/s | Pass-through req/s | Rampart req/s | Portkey req/s | Rampart ÷ direct | Rampart ÷ pass-through | Rampart ÷ Portkey | p50 / p99 direct | p50 / p99 pass-through | p50 / p99 Rampart | p50 / p99 Portkey |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        }

        foreach (var scenario in Scenarios)
        {
            var runs = Targets.ToDictionary(t => t, t => Rounds(dir, $"wrk.{scenario}.{t}"));
            if (runs.Values.Any(r => r.Count == 0))
            {
                continue;
            }

            var rps = runs.ToDictionary(r => r.Key, r => Mean(r.Value, "rps"));
            var toDirect = rps["rampart"] / rps["direct"];
            var toPortkey = rps["rampart"] / rps["portkey"];
            var passThrough = Rounds(dir, $"wrk.{scenario}.passthrough");
            var toPassThrough = passThrough.Count == 0 ? double.NaN : rps["rampart"] / Mean(passThrough, "rps");
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {ScenarioNames[scenario]} | {RpsCell(runs["direct"])} | {(passThrough.Count == 0 ? "n/a" : RpsCell(passThrough))} | {RpsCell(runs["rampart"])} | {RpsCell(runs["portkey"])} | {toDirect:P0} | {toPassThrough:P0} | {toPortkey:F1}× | " +
                $"{LatencyCell(runs["direct"])} | {(passThrough.Count == 0 ? "n/a" : LatencyCell(passThrough))} | {LatencyCell(runs["rampart"])} | {LatencyCell(runs["portkey"])} |");
            checks.Add(($"Throughput ≥ 10× Portkey ({ScenarioNames[scenario]})", $"{toPortkey:F1}×", toPortkey >= 10));
            checks.Add(($"Throughput ≥ 50% of direct ({ScenarioNames[scenario]})", $"{toDirect:P0}", toDirect >= 0.5));
            var errors = runs.Where(r => r.Value.Any(Failed)).Select(r => r.Key).ToList();
            if (errors.Count > 0)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| ⚠ errors in {ScenarioNames[scenario]}: {string.Join(", ", errors)} (see the raw files) |||||||||");
            }
        }

        if (throughputRan)
        {
            md.AppendLine();
        }

        // Throughput with Rampart calling the provider over HTTP/2 (run.sh's rampart-h2 target, since 2026-12-08).
        var overHttp2 = Scenarios
            .Select(scenario => (Scenario: scenario, Runs: new[] { "direct", "rampart", "rampart-h2", "portkey" }.ToDictionary(t => t, t => Rounds(dir, $"wrk.{scenario}.{t}"))))
            .Where(s => s.Runs.Values.All(r => r.Count > 0))
            .ToList();
        if (overHttp2.Count > 0)
        {
            md.AppendLine("The same, with Rampart calling the provider over HTTP/2 (`rampart-h2`), as it calls hosted providers: it asks for HTTP/2, which they negotiate over TLS when they offer it. " +
                "The mock has no TLS, so that Rampart is told the plain-http provider speaks HTTP/2 (`Rampart:Upstream:CleartextHttp2`) and calls an h2c mock. " +
                "Portkey's gateway (Node's fetch) and the pass-through call providers over HTTP/1.1 whatever they offer:");
            md.AppendLine();
            md.AppendLine("| Scenario | Rampart, HTTP/2 to the provider req/s | ÷ direct | ÷ Portkey | ÷ Rampart over HTTP/1.1 | p50 / p99 |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|");
            foreach (var (scenario, runs) in overHttp2)
            {
                var rps = runs.ToDictionary(r => r.Key, r => Mean(r.Value, "rps"));
                var toPortkey = rps["rampart-h2"] / rps["portkey"];
                var toDirect = rps["rampart-h2"] / rps["direct"];
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {ScenarioNames[scenario]} | {RpsCell(runs["rampart-h2"])} | {toDirect:P0} | {toPortkey:F1}× | {rps["rampart-h2"] / rps["rampart"]:F2}× | {LatencyCell(runs["rampart-h2"])} |");
                checks.Add(($"Throughput ≥ 10× Portkey ({ScenarioNames[scenario]}, Rampart calling the provider over HTTP/2)", $"{toPortkey:F1}×", toPortkey >= 10));
                checks.Add(($"Throughput ≥ 50% of direct ({ScenarioNames[scenario]}, Rampart calling the provider over HTTP/2)", $"{toDirect:P0}", toDirect >= 0.5));
                if (runs["rampart-h2"].Any(Failed))
                {
                    md.AppendLine(CultureInfo.InvariantCulture, $"| ⚠ errors in {ScenarioNames[scenario]} (see the raw files) ||||||");
                }
            }

            md.AppendLine();
        }

        // CPU per request.
        if (Directory.EnumerateFiles(dir, "cpu.*.txt").Any())
        {
            md.AppendLine("CPU time per answered request (utime + stime from `/proc/PID/stat` around one wrk run of each target, divided by the requests wrk counted; " +
                "the process under test is the direct floor's mock, the pass-through, Rampart or Portkey; \"mock behind\" is the mock the pass-through and the gateways call):");
            md.AppendLine();
            var http2 = Directory.EnumerateFiles(dir, "cpu.*.rampart-h2.txt").Any();
            md.AppendLine("| Scenario | " + string.Join(" | ", CpuTargets.Select(t => Title(t) + " µs")) + " | mock behind Rampart µs | Rampart − pass-through µs |" +
                (http2 ? " Rampart, HTTP/2 to the provider µs | mock behind it µs |" : ""));
            md.AppendLine("|---|" + string.Concat(CpuTargets.Select(_ => "---:|")) + "---:|---:|" + (http2 ? "---:|---:|" : ""));
            foreach (var scenario in Scenarios)
            {
                var cpu = CpuTargets.ToDictionary(t => t, t => Rounds(dir, $"cpu.{scenario}.{t}"));
                if (cpu.Values.Any(r => r.Count == 0))
                {
                    continue;
                }

                var us = cpu.ToDictionary(c => c.Key, c => Mean(c.Value, "cpu_us_per_request"));
                var h2 = Rounds(dir, $"cpu.{scenario}.rampart-h2");
                var h2Cells = !http2 ? "" : h2.Count == 0 ? " n/a | n/a |"
                    : string.Create(CultureInfo.InvariantCulture, $" {Mean(h2, "cpu_us_per_request"):F1} | {Mean(h2, "mock_cpu_us_per_request"):F1} |");
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {ScenarioNames[scenario]} | {string.Join(" | ", CpuTargets.Select(t => us[t].ToString("F1", CultureInfo.InvariantCulture)))} | " +
                    $"{Mean(cpu["rampart"], "mock_cpu_us_per_request"):F1} | {us["rampart"] - us["passthrough"]:F1} |{h2Cells}");
            }

            md.AppendLine();
        }

        // This build against another, side by side.
        var compared = Scenarios.ToDictionary(s => s, s => Rounds(dir, $"compare.{s}"));
        if (compared.Values.Any(r => r.Count > 0))
        {
            md.Append(CultureInfo.InvariantCulture,
                    $"This build against another (`{meta.GetValueOrDefault("compare")}`), both on the gateway's CPU at the same time, each driven by its own wrk with half the connections; ")
                .AppendLine("CPU time per answered request as above, each round in brackets. Run after run on this machine one build's figure moves by ±30 %; side by side, two copies of one build read 0.98–1.00:");
            md.AppendLine();
            md.AppendLine("| Scenario | This build µs | Other build µs | This ÷ other | Errors (this / other) |");
            md.AppendLine("|---|---:|---:|---:|---:|");
            foreach (var (scenario, rounds) in compared.Where(c => c.Value.Count > 0))
            {
                var ratios = rounds.Select(r => Value(r, "cpu_us_per_request") / Value(r, "other_cpu_us_per_request")).ToList();
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {ScenarioNames[scenario]} | {UsCell(rounds, "cpu_us_per_request")} | {UsCell(rounds, "other_cpu_us_per_request")} | " +
                    $"{ratios.Average():F3} ({string.Join(" / ", ratios.Select(r => r.ToString("F3", CultureInfo.InvariantCulture)))}) | " +
                    $"{rounds.Sum(r => Value(r, "errors")):F0} / {rounds.Sum(r => Value(r, "other_errors")):F0} |");
            }

            md.AppendLine();
        }

        // Time to first byte.
        var ttfb = Targets.ToDictionary(t => t, t => Rounds(dir, $"ttfb.{t}"));
        if (ttfb.Values.All(r => r.Count > 0))
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"Streams, time to first byte (`Rampart.LoadClient ttfb`: {Value(ttfb["direct"][0], "samples"):F0} streamed requests one after another on a kept-alive connection, " +
                $"clock from just before sending to the first body byte; whole stream = to the end of `[DONE]`; mean of the rounds):");
            md.AppendLine();
            md.AppendLine("| Target | TTFB p50 | TTFB p99 | whole stream p50 | whole stream p99 | errors |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|");
            foreach (var target in Targets)
            {
                var r = ttfb[target];
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {Title(target)} | {Ms(Mean(r, "ttfb_p50_us"))} | {Ms(Mean(r, "ttfb_p99_us"))} | {Ms(Mean(r, "total_p50_us"))} | {Ms(Mean(r, "total_p99_us"))} | {r.Sum(v => Value(v, "errors")):F0} |");
            }

            var ttfbAdded = Mean(ttfb["rampart"], "ttfb_p50_us") - Mean(ttfb["direct"], "ttfb_p50_us");
            var ttfbAddedP99 = Mean(ttfb["rampart"], "ttfb_p99_us") - Mean(ttfb["direct"], "ttfb_p99_us");
            var bodyAddedP50 = (Mean(ttfb["rampart"], "total_p50_us") - Mean(ttfb["rampart"], "ttfb_p50_us"))
                - (Mean(ttfb["direct"], "total_p50_us") - Mean(ttfb["direct"], "ttfb_p50_us"));
            var bodyAddedP99 = (Mean(ttfb["rampart"], "total_p99_us") - Mean(ttfb["rampart"], "ttfb_p99_us"))
                - (Mean(ttfb["direct"], "total_p99_us") - Mean(ttfb["direct"], "ttfb_p99_us"));
            var mockSpread = Mean(ttfb["direct"], "total_p99_us") - Mean(ttfb["direct"], "total_p50_us");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture,
                $"Rampart adds {Ms(ttfbAdded)} to the first byte at p50 ({Ms(ttfbAddedP99)} at p99), and {Ms(bodyAddedP50)} at p50, {Ms(bodyAddedP99)} at p99 to the time from the first byte to the end " +
                $"of a {chunks}-chunk stream. The paced mock's own spread (direct, whole stream p99 − p50) is {Ms(mockSpread)}: a difference smaller than that is noise.");
            md.AppendLine();
            checks.Add(("Streaming TTFB overhead ≤ 1 ms (p50)", Ms(ttfbAdded), ttfbAdded <= 1000));
            checks.Add(("No added per-chunk delay in p99 (first byte → end of stream, added)",
                $"p50 {Ms(bodyAddedP50)}, p99 {Ms(bodyAddedP99)} (noise ±{Ms(mockSpread)})", bodyAddedP50 <= 1000 && bodyAddedP99 <= Math.Max(1000, mockSpread)));
        }

        // Fixed rate.
        // The pass-through is in the fixed-rate runs since 2026-12-07 (evening); older raw output has only direct and Rampart.
        var fixedRate = new[] { "direct", "passthrough", "rampart" }.ToDictionary(t => t, t => Rounds(dir, $"rate.{t}"));
        if (fixedRate["passthrough"].Count == 0)
        {
            fixedRate.Remove("passthrough");
        }

        if (fixedRate["direct"].Count > 0 && fixedRate["rampart"].Count > 0)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"Added latency at a fixed {rate:N0} requests/s, small chat (`Rampart.LoadClient rate`: open loop — each request leaves on schedule whether or not earlier ones have answered —, " +
                $"clock from sending to the whole answer; mean of the rounds):");
            md.AppendLine();
            md.AppendLine("| Target | achieved req/s | p50 | p90 | p99 | p99.9 | errors | client's worst lag behind schedule |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var (target, r) in fixedRate)
            {
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {Title(target)} | {Mean(r, "achieved_rps"):N0} | {Ms(Mean(r, "p50_us"))} | {Ms(Mean(r, "p90_us"))} | {Ms(Mean(r, "p99_us"))} | {Ms(Mean(r, "p999_us"))} | {r.Sum(v => Value(v, "errors")):F0} | {Ms(r.Max(v => Value(v, "max_lag_us")))} |");
            }

            var addedP50 = Mean(fixedRate["rampart"], "p50_us") - Mean(fixedRate["direct"], "p50_us");
            var addedP99 = Mean(fixedRate["rampart"], "p99_us") - Mean(fixedRate["direct"], "p99_us");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Added by Rampart: **p50 {Ms(addedP50)}, p99 {Ms(addedP99)}**.");
            if (fixedRate.TryGetValue("passthrough", out var passthrough))
            {
                var hopP50 = Mean(passthrough, "p50_us") - Mean(fixedRate["direct"], "p50_us");
                var hopP99 = Mean(passthrough, "p99_us") - Mean(fixedRate["direct"], "p99_us");
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"Of that, the second hop alone (pass-through − direct) is p50 {Ms(hopP50)}, p99 {Ms(hopP99)}; Rampart's own work (Rampart − pass-through) p50 {Ms(addedP50 - hopP50)}, p99 {Ms(addedP99 - hopP99)}.");
            }

            md.AppendLine();
            checks.Add(($"Added latency at {rate:N0} RPS, p50 ≤ 0.3 ms", Ms(addedP50), addedP50 <= 300));
            checks.Add(($"Added latency at {rate:N0} RPS, p99 ≤ 1.5 ms", Ms(addedP99), addedP99 <= 1500));

            var saturated = Path.Combine(dir, "rss-after-saturation.txt");
            if (File.Exists(saturated))
            {
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"After the wrk and time-to-first-byte runs Rampart held {File.ReadAllText(saturated).Split('=')[1].Trim()} MB; it was restarted and warmed up for 20 s for the fixed-rate, soak and streams measurements.");
            }

            var steady = fixedRate["rampart"].Select(v => Value(v, "rss_end_mb")).Where(v => !double.IsNaN(v)).ToList();
            if (steady.Count > 0)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"Rampart's resident memory at the end of each fixed-rate run (after warm-up): {string.Join(" / ", steady.Select(v => $"{v:F0} MB"))}.");
                checks.Add(($"RSS ≤ 150 MB steady at {rate:N0} RPS", $"{steady.Max():F0} MB", steady.Max() <= 150));
            }
        }

        // Soak.
        var soak = Rounds(dir, "soak.rampart");
        if (soak.Count > 0)
        {
            var s = soak[0];
            var samples = File.ReadLines(Path.Combine(dir, "soak.rampart.txt")).Where(l => l.StartsWith("rss ", StringComparison.Ordinal)).Select(l => l[4..]).ToList();
            md.AppendLine(CultureInfo.InvariantCulture,
                $"Soak at {rate:N0} requests/s for {Value(s, "sent") / rate:F0} s after 10 s of warm-up: RSS {Value(s, "rss_start_mb"):F1} MB at the start, {Value(s, "rss_end_mb"):F1} MB at the end, " +
                $"{Value(s, "rss_max_mb"):F1} MB at most — drift **{Signed(Value(s, "rss_drift_pct"))}%**; p50 {Ms(Value(s, "p50_us"))}, p99 {Ms(Value(s, "p99_us"))}, {Value(s, "errors"):F0} errors. " +
                $"Samples: {string.Join(", ", samples)}.");
            md.AppendLine();
            // Drift is about growth (a leak); memory given back is not held against the gateway.
            checks.Add(($"RSS growth ≤ 5% over the soak ({Value(s, "sent") / rate:F0} s)", $"{Signed(Value(s, "rss_drift_pct"))}%", Value(s, "rss_drift_pct") <= 5));
        }

        // Concurrent streams.
        var streams = Rounds(dir, "streams.rampart");
        if (streams.Count > 0)
        {
            var s = streams[0];
            md.AppendLine(CultureInfo.InvariantCulture,
                $"Concurrent streams (`Rampart.LoadClient streams`, each a stream from a mock sending one chunk a second): {Value(s, "requested"):N0} opened in {Value(s, "opened_in_s"):F1} s — " +
                $"{Value(s, "opened"):N0} answered 200 with a first event, {Value(s, "failed"):N0} failed; **{Value(s, "peak_open"):N0} held at once**, {Value(s, "open_after_hold"):N0} still open after the hold. " +
                $"Rampart's RSS {Value(s, "rss_before_mb"):F0} MB before, **{Value(s, "rss_peak_mb"):F0} MB** with them all open, {Value(s, "rss_after_hold_mb"):F0} MB at the end of the hold.");
            if (meta.GetValueOrDefault("streams_requested") != meta.GetValueOrDefault("streams_attempted"))
            {
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"Only {meta.GetValueOrDefault("streams_attempted")} of the {meta.GetValueOrDefault("streams_requested")} streams asked for were attempted: the open-files limit here is {meta.GetValueOrDefault("nofile")} and each stream costs Rampart two sockets.");
            }

            md.AppendLine();
            checks.Add(("10,000 concurrent streams held", $"{Value(s, "peak_open"):N0}", Value(s, "peak_open") >= 10_000));
        }

        var streamsH2 = Rounds(dir, "streams-h2.rampart");
        if (streamsH2.Count > 0)
        {
            var s = streamsH2[0];
            md.AppendLine(CultureInfo.InvariantCulture,
                $"Concurrent streams with Rampart calling the provider over HTTP/2 (a restarted Rampart with `Rampart:Upstream:CleartextHttp2`, an h2c-only mock; over TLS a provider negotiates this itself): " +
                $"{Value(s, "requested"):N0} opened in {Value(s, "opened_in_s"):F1} s — {Value(s, "opened"):N0} answered 200 with a first event, {Value(s, "failed"):N0} failed; " +
                $"**{Value(s, "peak_open"):N0} held at once**, {Value(s, "open_after_hold"):N0} still open after the hold. " +
                $"Rampart's RSS {Value(s, "rss_before_mb"):F0} MB before, **{Value(s, "rss_peak_mb"):F0} MB** with them all open, {Value(s, "rss_after_hold_mb"):F0} MB at the end of the hold.");
            md.AppendLine();
            checks.Add(("10,000 concurrent streams held (HTTP/2 to the provider)", $"{Value(s, "peak_open"):N0}", Value(s, "peak_open") >= 10_000));
        }

        if (checks.Count > 0)
        {
            md.AppendLine("Targets of issue 6:");
            md.AppendLine();
            md.AppendLine("| Target | Reached | Met |");
            md.AppendLine("|---|---:|:---:|");
            foreach (var (target, figure, met) in checks)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {target} | {figure} | {(met is true ? "yes" : "**no**")} |");
            }
        }

        Console.Write(md.ToString());
        return Task.FromResult(0);
    }

    private static List<Dictionary<string, string>> Rounds(string dir, string prefix) =>
        Directory.EnumerateFiles(dir, prefix + "*.txt")
            .Where(f => Path.GetFileName(f) == prefix + ".txt" || Path.GetFileName(f).StartsWith(prefix + ".", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(f => File.ReadLines(f).LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal)))
            .OfType<string>()
            .Select(l => l["RESULT ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]))
            .ToList();

    private static double Value(Dictionary<string, string> result, string key) =>
        result.TryGetValue(key, out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : double.NaN;

    /// <summary>Whether a wrk run had any answer other than 2xx, or a socket error or time-out.</summary>
    private static bool Failed(Dictionary<string, string> run) =>
        Value(run, "non2xx") + Value(run, "connect_err") + Value(run, "read_err") + Value(run, "timeout_err") > 0;

    private static double Mean(List<Dictionary<string, string>> rounds, string key) => rounds.Average(r => Value(r, key));

    private static string RpsCell(List<Dictionary<string, string>> rounds) =>
        $"{Mean(rounds, "rps"):N0} ({string.Join(" / ", rounds.Select(r => Value(r, "rps").ToString("N0", CultureInfo.InvariantCulture)))})";

    private static string UsCell(List<Dictionary<string, string>> rounds, string key) =>
        $"{Mean(rounds, key):F1} ({string.Join(" / ", rounds.Select(r => Value(r, key).ToString("F1", CultureInfo.InvariantCulture)))})";

    private static string LatencyCell(List<Dictionary<string, string>> rounds) => $"{Ms(Mean(rounds, "p50_us"))} / {Ms(Mean(rounds, "p99_us"))}";

    private static string Ms(double microseconds) =>
        double.IsNaN(microseconds) ? "n/a" : (microseconds / 1000).ToString(Math.Abs(microseconds) < 10_000 ? "F2" : "F1", CultureInfo.InvariantCulture) + " ms";

    private static string Signed(double value) =>
        (value < 0 ? "−" : "+") + Math.Abs(value).ToString("F1", CultureInfo.InvariantCulture);

    private static string Title(string target) => target switch
    {
        "direct" => "Direct",
        "rampart" => "Rampart",
        "passthrough" => "Pass-through",
        _ => "Portkey",
    };
}
