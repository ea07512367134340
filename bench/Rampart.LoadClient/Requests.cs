using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Rampart.LoadClient;

/// <summary>What every mode shares: one request shape, one client, and percentiles.</summary>
internal sealed class Requests(Uri url, byte[] body, IReadOnlyList<KeyValuePair<string, string>> headers)
{
    public static Requests From(Arguments arguments) =>
        new(new Uri(arguments.Text("url")), File.ReadAllBytes(arguments.Text("body")), arguments.Headers);

    public static HttpClient Client(TimeSpan timeout) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        MaxConnectionsPerServer = int.MaxValue,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
        ConnectTimeout = TimeSpan.FromSeconds(30),
    })
    {
        Timeout = timeout,
    };

    public HttpRequestMessage Create()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    public static double Microseconds(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;

    /// <summary>The nearest-rank percentile of sorted values, in microseconds.</summary>
    public static double Percentile(long[] sortedTicks, double percent)
    {
        if (sortedTicks.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(percent / 100.0 * sortedTicks.Length) - 1;
        return Microseconds(sortedTicks[Math.Clamp(rank, 0, sortedTicks.Length - 1)]);
    }

    public static string Us(double microseconds) => microseconds.ToString("F0", CultureInfo.InvariantCulture);

    /// <summary>Resident set size of a process in bytes (Linux <c>/proc/PID/status</c>), or -1 when it cannot be read.</summary>
    public static long ResidentBytes(int? pid)
    {
        if (pid is null)
        {
            return -1;
        }

        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kilobytes = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kilobytes, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return -1;
    }

    public static string Mb(long bytes) => bytes < 0 ? "n/a" : (bytes / 1024.0 / 1024.0).ToString("F1", CultureInfo.InvariantCulture);
}
