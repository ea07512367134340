using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;

namespace Rampart.Tests.Infrastructure;

/// <summary>
/// A real PostgreSQL server for the tests: a throw-away cluster (<c>initdb</c> + <c>pg_ctl</c>) in a temp folder on a free
/// loopback port, run as the <c>postgres</c> OS user when the tests run as root (PostgreSQL refuses root), with fsync off.
/// <see cref="SharedAsync"/> is the one server the whole test assembly shares (or the server <c>RAMPART_TEST_POSTGRES</c>
/// names); a test that stops its server starts its own with <see cref="StartAsync"/>. Tests get databases of their own
/// from <see cref="CreateDatabaseAsync"/>, so they stay isolated and can run in parallel.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    public const string ExternalServerVariable = "RAMPART_TEST_POSTGRES";

    private static readonly Lazy<Task<PostgresServer>> Shared = new(StartSharedAsync);

    private readonly string? _root;
    private readonly string _binDir;
    private readonly int _port;

    private PostgresServer(string adminConnectionString, string? root, string binDir, int port)
    {
        AdminConnectionString = adminConnectionString;
        _root = root;
        _binDir = binDir;
        _port = port;
    }

    /// <summary>A superuser's connection string to the <c>postgres</c> database; the password is generated per run.</summary>
    public string AdminConnectionString { get; }

    private string DataDir => Path.Combine(_root!, "data");

    public static Task<PostgresServer> SharedAsync() => Shared.Value;

    /// <summary>A new cluster of this test's own, to stop and start at will.</summary>
    public static async Task<PostgresServer> StartAsync()
    {
        var binDir = FindBinDir();
        var root = Path.Combine(Path.GetTempPath(), "rampart-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var passwordFile = Path.Combine(root, "pwfile");
        await File.WriteAllTextAsync(passwordFile, password);
        if (RunningAsRoot)
        {
            await RunAsync("chown", ["-R", "postgres:postgres", root]);
        }

        await StartWatchdogAsync(root, binDir);
        await RunAsPostgresAsync(Path.Combine(binDir, "initdb"),
            ["-D", Path.Combine(root, "data"), "-U", "postgres", "--pwfile=" + passwordFile, "--auth-local=trust", "--auth-host=scram-sha-256",
             "--encoding=UTF8", "--locale=C", "--no-sync"]);
        File.Delete(passwordFile);

        // A port can be taken between finding it free and the server binding it; try a few.
        for (var attempt = 1; ; attempt++)
        {
            var port = LoopbackPorts.Free();
            var server = new PostgresServer(
                new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = port, Username = "postgres", Password = password, Database = "postgres" }.ConnectionString,
                root, binDir, port);
            try
            {
                await server.StartServerAsync();
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
        }
    }

    /// <summary>Starts the stopped server again, on the same port and data.</summary>
    public Task StartServerAsync() => RunAsPostgresAsync(Path.Combine(_binDir, "pg_ctl"),
        ["-D", DataDir, "-l", Path.Combine(_root!, "server.log"), "-w", "-t", "60", "start", "-o",
         string.Join(' ', "-p", _port.ToString(CultureInfo.InvariantCulture), "-k", _root!, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=500")]);

    /// <summary>Stops the server the way an operator's restart does: active connections are cut, open transactions roll back.</summary>
    public Task StopServerAsync() => RunAsPostgresAsync(Path.Combine(_binDir, "pg_ctl"), ["-D", DataDir, "-m", "fast", "-w", "stop"]);

    /// <summary>A new, empty database; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var exists = new NpgsqlCommand("SELECT COUNT(*) FROM pg_database WHERE datname = @name", connection);
        exists.Parameters.AddWithValue("name", name);
        if ((long)(await exists.ExecuteScalarAsync())! == 0)
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{Checked(name)}\"", connection);
            await create.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    public async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Checked(name)}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_root is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await RunAsPostgresAsync(Path.Combine(_binDir, "pg_ctl"), ["-D", DataDir, "-m", "immediate", "-w", "stop"], throwOnFailure: false);
        Directory.Delete(_root, recursive: true);
    }

    private static async Task<PostgresServer> StartSharedAsync()
    {
        if (Environment.GetEnvironmentVariable(ExternalServerVariable) is { Length: > 0 } external)
        {
            return new PostgresServer(external, root: null, binDir: "", port: 0);
        }

        var server = await StartAsync();
        // xUnit 2 has no assembly-wide fixture: the shared server goes when the test process does (and the watchdog
        // deletes its folder if the process ends before this handler does).
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return server;
    }

    /// <summary>
    /// Stops the server and deletes its folder once this test process is gone, however it ends: the runner may kill the
    /// process before <see cref="AppDomain.ProcessExit"/> handlers finish, and a crashed run must not leave a server behind.
    /// </summary>
    private static Task StartWatchdogAsync(string root, string binDir)
    {
        string[] stop = [Path.Combine(binDir, "pg_ctl"), "-D", Path.Combine(root, "data"), "-m", "immediate", "-w", "stop"];
        var stopCommand = string.Join(' ', (RunningAsRoot ? ["runuser", "-u", "postgres", "--", .. stop] : stop).Select(Quote));
        var script = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; {stopCommand}; rm -rf {Quote(root)}";
        // Detached, with its output going nowhere, so it holds none of the test runner's pipes open.
        return RunAsync("sh", ["-c", $"setsid sh -c {Quote(script)} </dev/null >/dev/null 2>&1 &"]);
    }

    private static string Quote(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static string Checked(string name) =>
        name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_') ? name : throw new ArgumentException($"unsafe database name {name}", nameof(name));

    private static bool RunningAsRoot => Environment.UserName == "root";

    /// <summary>Debian's newest PostgreSQL (<c>/usr/lib/postgresql/N/bin</c>), else the folder of <c>pg_ctl</c> on the PATH.</summary>
    private static string FindBinDir()
    {
        var debian = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(dir => (Dir: Path.Combine(dir, "bin"), Version: int.TryParse(Path.GetFileName(dir), out var v) ? v : 0))
                .Where(d => File.Exists(Path.Combine(d.Dir, "pg_ctl")) && File.Exists(Path.Combine(d.Dir, "initdb")))
                .OrderByDescending(d => d.Version).Select(d => d.Dir).FirstOrDefault()
            : null;
        return debian
            ?? (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').FirstOrDefault(dir => File.Exists(Path.Combine(dir, "pg_ctl")) && File.Exists(Path.Combine(dir, "initdb")))
            ?? throw new InvalidOperationException(
                $"PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's 'postgresql' package (bash test.sh does), or set {ExternalServerVariable} to a server's connection string.");
    }

    private static Task RunAsPostgresAsync(string program, string[] arguments, bool throwOnFailure = true) =>
        RunningAsRoot ? RunAsync("runuser", ["-u", "postgres", "--", program, .. arguments], throwOnFailure) : RunAsync(program, arguments, throwOnFailure);

    private static async Task RunAsync(string program, string[] arguments, bool throwOnFailure = true)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0 && throwOnFailure)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', arguments.Take(3))} … failed ({process.ExitCode}): {await output}{await error}");
        }
    }
}
