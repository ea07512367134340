using System.Diagnostics;

namespace Rampart.LoadClient;

/// <summary>Sequential streamed requests on one kept-alive connection: time to the first body byte and to the end.</summary>
internal static class TtfbMode
{
    public static async Task<int> RunAsync(Arguments arguments, CancellationToken cancellationToken)
    {
        var requests = Requests.From(arguments);
        var count = arguments.Int("count", 500);
        var warmup = arguments.Int("warmup", 50);
        using var client = Requests.Client(TimeSpan.FromSeconds(30));
        var buffer = new byte[64 * 1024];
        var firstByte = new List<long>(count);
        var whole = new List<long>(count);
        var errors = 0;
        var deadline = Stopwatch.StartNew();

        for (var i = 0; i < warmup + count && deadline.Elapsed < TimeSpan.FromMinutes(5); i++)
        {
            var start = Stopwatch.GetTimestamp();
            long first = 0;
            try
            {
                using var request = requests.Create();
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                int read;
                while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    if (first == 0)
                    {
                        first = Stopwatch.GetTimestamp();
                    }
                }

                if (!response.IsSuccessStatusCode || first == 0)
                {
                    errors++;
                    continue;
                }
            }
            catch (HttpRequestException)
            {
                errors++;
                continue;
            }

            if (i >= warmup)
            {
                firstByte.Add(first - start);
                whole.Add(Stopwatch.GetTimestamp() - start);
            }
        }

        var ttfb = firstByte.Order().ToArray();
        var total = whole.Order().ToArray();
        Console.WriteLine(
            $"RESULT samples={ttfb.Length} errors={errors} " +
            $"ttfb_p50_us={Requests.Us(Requests.Percentile(ttfb, 50))} ttfb_p90_us={Requests.Us(Requests.Percentile(ttfb, 90))} ttfb_p99_us={Requests.Us(Requests.Percentile(ttfb, 99))} " +
            $"total_p50_us={Requests.Us(Requests.Percentile(total, 50))} total_p99_us={Requests.Us(Requests.Percentile(total, 99))}");
        return errors == 0 ? 0 : 1;
    }
}
