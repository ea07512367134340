using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Rampart.Tests.Infrastructure;

/// <summary>
/// Debian's nginx as a round-robin load balancer on loopback in front of the given backends: its configuration, pid file,
/// logs and temp folders in a temp folder of its own, run in the foreground (<c>daemon off</c>) as a child of the test
/// process and stopped by its pid. The access log names the backend that answered each request, so a test can check that
/// both instances did. A watchdog stops it if the test process ends without disposing it.
/// </summary>
public sealed class NginxBalancer : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/nginx";

    private readonly string _root;
    private readonly Process _process;

    private NginxBalancer(string root, Process process, string baseUrl)
    {
        _root = root;
        _process = process;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }

    private string AccessLog => Path.Combine(_root, "access.log");

    public static async Task<NginxBalancer> StartAsync(IEnumerable<Uri> backends)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} not found: install Debian's 'nginx' package (bash test.sh does).");
        }

        var root = Path.Combine(Path.GetTempPath(), "rampart-nginx-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        var port = LoopbackPorts.Free();
        var servers = string.Concat(backends.Select(b => $"        server {b.Host}:{b.Port.ToString(CultureInfo.InvariantCulture)};\n"));
        // As root, nginx's workers drop to an unprivileged user (Debian has no group "nobody", nginx's default).
        var user = Environment.UserName == "root" ? "user nobody nogroup;\n" : "";
        var config = $$"""
            {{user}}worker_processes 1;
            daemon off;
            pid {{root}}/nginx.pid;
            error_log {{root}}/error.log warn;
            events { worker_connections 1024; }
            http {
                client_body_temp_path {{root}}/client_body;
                proxy_temp_path {{root}}/proxy;
                fastcgi_temp_path {{root}}/fastcgi;
                uwsgi_temp_path {{root}}/uwsgi;
                scgi_temp_path {{root}}/scgi;
                log_format backends '$upstream_addr $status $request_method $request_uri';
                access_log {{root}}/access.log backends;
                upstream rampart {
            {{servers}}        keepalive 16;
                }
                server {
                    listen 127.0.0.1:{{port.ToString(CultureInfo.InvariantCulture)}};
                    location / {
                        proxy_pass http://rampart;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                        proxy_set_header Host $host;
                        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                        proxy_buffering off;
                        proxy_read_timeout 60s;
                    }
                }
            }
            """;
        var configFile = Path.Combine(root, "nginx.conf");
        await File.WriteAllTextAsync(configFile, config);

        var start = new ProcessStartInfo(Binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-p", root, "-c", configFile, "-e", Path.Combine(root, "error.log") })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("nginx did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var balancer = new NginxBalancer(root, process, $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        await StartWatchdogAsync(process.Id);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            if (process.HasExited)
            {
                var log = File.Exists(Path.Combine(root, "error.log")) ? await File.ReadAllTextAsync(Path.Combine(root, "error.log")) : "";
                await balancer.DisposeAsync();
                throw new InvalidOperationException($"nginx exited with {process.ExitCode}: {log}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return balancer;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>The backend (<c>127.0.0.1:port</c>) and status of every request nginx has logged so far.</summary>
    public async Task<IReadOnlyList<(string Backend, int Status, string Uri)>> AccessLogAsync()
    {
        // nginx writes each line when the request ends, which is before the client has read the last byte of a response.
        await Task.Delay(100);
        var lines = File.Exists(AccessLog) ? await File.ReadAllLinesAsync(AccessLog) : [];
        return [.. lines.Select(l => l.Split(' ')).Select(p => (p[0], int.Parse(p[1], CultureInfo.InvariantCulture), p[3]))];
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM: the master stops its workers and exits. SIGKILL only if it does not.
            await RunAsync("kill", "-TERM", _process.Id.ToString(CultureInfo.InvariantCulture));
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Stops nginx (by its pid) if this test process ends without disposing it.</summary>
    private static Task StartWatchdogAsync(int nginxPid)
    {
        // Only if that pid is still an nginx: a pid can be reused once nginx has gone.
        var script = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; " +
            $"[ \"$(readlink /proc/{nginxPid}/exe)\" = {Binary} ] && kill -TERM {nginxPid} 2>/dev/null";
        return RunAsync("sh", "-c", $"setsid sh -c '{script.Replace("'", "'\\''", StringComparison.Ordinal)}' </dev/null >/dev/null 2>&1 &");
    }

    private static async Task RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        await process.WaitForExitAsync();
    }

}
