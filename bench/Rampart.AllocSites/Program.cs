using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers;

// Where a running .NET process allocates: the runtime's GC allocation-tick events (one about every 100 KB allocated,
// with the type and the call stack) over a few seconds, summed by type and by call site. Attach it to the JIT build of
// the gateway under load (`dotnet Rampart.dll`): the Native AOT executable does not give managed stacks to EventPipe.
//
//   dotnet bench/Rampart.AllocSites/bin/Release/net10.0/Rampart.AllocSites.dll --pid <pid> [--seconds 6] [--top 25] [--frames 6]
//
// Shares are of the sampled bytes; for exact bytes per request read dotnet.gc.heap.total_allocated from /metrics.
var options = Options.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: Rampart.AllocSites --pid <pid> [--seconds 6] [--top 25] [--frames 6]");
    return 2;
}

var trace = Path.Combine(Path.GetTempPath(), $"allocsites-{options.Pid}-{Guid.NewGuid():N}.nettrace");
try
{
    await CollectAsync(options, trace);
    var (total, byType, bySite) = Summarise(trace, options.Frames);
    Console.WriteLine($"sampled {total:N0} bytes in {options.Seconds} s (allocation ticks of process {options.Pid})");
    Console.WriteLine();
    Console.WriteLine("By type:");
    foreach (var (type, bytes) in byType.OrderByDescending(t => t.Value).Take(options.Top))
    {
        Console.WriteLine($"{100.0 * bytes / total,6:F1} %  {type}");
    }

    Console.WriteLine();
    Console.WriteLine("By site (the type, then the allocating frames outside System.Private.CoreLib, innermost first):");
    foreach (var (site, bytes) in bySite.OrderByDescending(s => s.Value).Take(options.Top))
    {
        Console.WriteLine($"{100.0 * bytes / total,6:F1} %  {site}");
        Console.WriteLine();
    }

    return total > 0 ? 0 : 1;
}
finally
{
    File.Delete(trace);
    File.Delete(Path.ChangeExtension(trace, ".etlx"));
}

static async Task CollectAsync(Options options, string path)
{
    var client = new DiagnosticsClient(options.Pid);
    var gc = new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GC);
    // The rundown at the end names the methods on the stacks.
    using var session = client.StartEventPipeSession([gc], requestRundown: true);
    await using var file = File.Create(path);
    var copy = session.EventStream.CopyToAsync(file);
    await Task.Delay(TimeSpan.FromSeconds(options.Seconds));
    await session.StopAsync(CancellationToken.None);
    await copy;
}

static (long Total, Dictionary<string, long> ByType, Dictionary<string, long> BySite) Summarise(string path, int frames)
{
    var etlx = TraceLog.CreateFromEventPipeDataFile(path);
    using var log = new TraceLog(etlx);
    var byType = new Dictionary<string, long>();
    var bySite = new Dictionary<string, long>();
    long total = 0;
    foreach (var e in log.Events)
    {
        if (e.EventName != "GC/AllocationTick")
        {
            continue;
        }

        var bytes = Convert.ToInt64(e.PayloadByName("AllocationAmount64") ?? e.PayloadByName("AllocationAmount"));
        var type = e.PayloadByName("TypeName") as string ?? "?";
        total += bytes;
        byType[type] = byType.GetValueOrDefault(type) + bytes;

        var stack = new List<string>();
        for (var frame = e.CallStack(); frame is not null && stack.Count < frames; frame = frame.Caller)
        {
            var method = frame.CodeAddress.FullMethodName;
            if (!string.IsNullOrEmpty(method) && !method.StartsWith("System.Private.CoreLib", StringComparison.Ordinal))
            {
                stack.Add(method);
            }
        }

        var site = type + string.Concat(stack.Select(m => "\n           " + m));
        bySite[site] = bySite.GetValueOrDefault(site) + bytes;
    }

    return (total, byType, bySite);
}

internal sealed record Options(int Pid, int Seconds, int Top, int Frames)
{
    public static Options? Parse(string[] args)
    {
        int? pid = null;
        int seconds = 6, top = 25, frames = 6;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (!int.TryParse(args[i + 1], out var value) || value <= 0)
            {
                return null;
            }

            switch (args[i])
            {
                case "--pid": pid = value; break;
                case "--seconds": seconds = value; break;
                case "--top": top = value; break;
                case "--frames": frames = value; break;
                default: return null;
            }
        }

        return pid is { } p && args.Length % 2 == 0 ? new Options(p, seconds, top, frames) : null;
    }
}
