using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Rampart.Hosting;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Operations;

/// <summary>
/// The gateway as operators run it: its own process (<c>dotnet Rampart.dll</c> from the test's output folder, with the
/// shipped appsettings.json), configured by environment variables, on a free loopback port. With
/// <see cref="BinaryVariable"/> set, the published executable it names instead (test.sh runs these tests against the
/// Native AOT build that way; the tests that use this class carry <c>[Trait("Gateway", "Process")]</c>, by which it
/// picks them). Its stdout is kept line by line; <see cref="Terminate"/> sends SIGTERM as a container
/// runtime would. Disposing kills it if it is still running.
/// </summary>
internal sealed class GatewayProcess : IAsyncDisposable
{
    /// <summary>The path of a published gateway executable (its folder holds its appsettings.json) to run instead of <c>dotnet Rampart.dll</c>.</summary>
    public const string BinaryVariable = "RAMPART_TEST_GATEWAY_BINARY";

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private GatewayProcess(Process process, string baseUrl)
    {
        _process = process;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything written to stdout and stderr so far.</summary>
    public IReadOnlyCollection<string> Output => _output;

    /// <param name="openFilesLimit">When set, the process's open-files limit (soft and hard, through the shell's <c>ulimit</c>).</param>
    public static async Task<GatewayProcess> StartAsync(IReadOnlyDictionary<string, string> environment, int? openFilesLimit = null)
    {
        var baseUrl = $"http://127.0.0.1:{LoopbackPorts.Free()}";
        var start = StartInfo(environment, [], openFilesLimit);
        start.Environment["ASPNETCORE_URLS"] = baseUrl;
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the gateway");
        var gateway = new GatewayProcess(process, baseUrl);
        process.OutputDataReceived += (_, e) => gateway.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => gateway.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await gateway.WaitUntilReadyAsync();
        return gateway;
    }

    /// <summary>One of the gateway's commands (<c>rampart workspaces …</c>, <c>rampart healthcheck</c>), run by the same executable to its end.</summary>
    public static Task<(int ExitCode, string Output, string Error)> RunCommandAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        ProcessRun.ToEndAsync(StartInfo(environment, arguments, openFilesLimit: null), TimeSpan.FromSeconds(60));

    private static ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string> environment, string[] arguments, int? openFilesLimit)
    {
        var binary = Environment.GetEnvironmentVariable(BinaryVariable) is { Length: > 0 } published ? Path.GetFullPath(published) : null;
        var program = binary ?? Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var start = new ProcessStartInfo(openFilesLimit is null ? program : "bash")
        {
            WorkingDirectory = binary is null ? AppContext.BaseDirectory : Path.GetDirectoryName(binary)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (openFilesLimit is { } limit)
        {
            // exec: the gateway keeps the shell's process id.
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"ulimit -n {limit.ToString(CultureInfo.InvariantCulture)} && exec \"$0\" \"$@\"");
            start.ArgumentList.Add(program);
        }

        if (binary is null)
        {
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Rampart.dll"));
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        // Whatever the machine has, only what the test gives is configured.
        foreach (var prefix in new[] { "OPENAI", "XAI", "DEEPSEEK", "AZURE_OPENAI", "ANTHROPIC", "GEMINI" })
        {
            start.Environment[prefix + "_API_KEY"] = "";
            start.Environment[prefix + "_BASE_URL"] = "";
        }

        foreach (var name in new[] { "SEARXNG_BASE_URL", "BRAVE_SEARCH_API_KEY", "TAVILY_API_KEY", "RAMPART_POSTGRES", "OTEL_EXPORTER_OTLP_ENDPOINT" })
        {
            start.Environment[name] = "";
        }

        // Nor the test process's own choice of socket completions: the gateway makes its own unless told.
        start.Environment.Remove(SocketCompletions.Variable);
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return start;
    }

    public HttpClient Http(string? key = null)
    {
        var http = new HttpClient { BaseAddress = new Uri(BaseUrl + "/"), Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new("Bearer", key);
        }

        return http;
    }

    /// <summary>SIGTERM, as <c>docker stop</c> or Kubernetes sends it.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
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

    private void Keep(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        using var http = Http();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(_process.HasExited, "the gateway exited during start-up:\n" + string.Join('\n', _output));
            try
            {
                if ((await http.GetAsync("readyz")).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the gateway did not become ready within 60 s:\n" + string.Join('\n', _output));
    }
}
