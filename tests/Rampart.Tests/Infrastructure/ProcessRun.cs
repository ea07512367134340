using System.Diagnostics;

namespace Rampart.Tests.Infrastructure;

/// <summary>A process run to its end, with what it printed; one that outlives the timeout is killed, not left behind.</summary>
internal static class ProcessRun
{
    public static async Task<(int ExitCode, string Output, string Error)> ToEndAsync(ProcessStartInfo start, TimeSpan timeout)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{start.FileName} {string.Join(' ', start.ArgumentList)}' did not finish within {timeout.TotalSeconds:0} s");
        }

        return (process.ExitCode, await output, await error);
    }
}
