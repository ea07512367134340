using System.Globalization;
using System.Text;

namespace Rampart.Limits;

/// <summary>OpenAI's <c>x-ratelimit-*</c> headers, with its duration format for the resets (<c>1s</c>, <c>6m0s</c>, <c>250ms</c>).</summary>
internal static class RateLimitHeaders
{
    public static void Write(HttpResponse response, LimitDecision decision)
    {
        Write(response, "requests", decision.Requests);
        Write(response, "tokens", decision.Tokens);
    }

    public static string Duration(TimeSpan span)
    {
        if (span <= TimeSpan.Zero)
        {
            return "0s";
        }

        if (span < TimeSpan.FromSeconds(1))
        {
            return $"{(int)Math.Ceiling(span.TotalMilliseconds)}ms";
        }

        var text = new StringBuilder();
        if (span.TotalHours >= 1)
        {
            text.Append(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}h");
        }

        if (span.TotalMinutes >= 1)
        {
            text.Append(CultureInfo.InvariantCulture, $"{span.Minutes}m");
        }

        var seconds = span.Seconds + (span.Milliseconds / 1000.0);
        return text.Append(seconds.ToString("0.###", CultureInfo.InvariantCulture)).Append('s').ToString();
    }

    private static void Write(HttpResponse response, string kind, LimitStatus? status)
    {
        if (status is null)
        {
            return;
        }

        response.Headers[$"x-ratelimit-limit-{kind}"] = status.Limit.ToString(CultureInfo.InvariantCulture);
        response.Headers[$"x-ratelimit-remaining-{kind}"] = status.Remaining.ToString(CultureInfo.InvariantCulture);
        response.Headers[$"x-ratelimit-reset-{kind}"] = Duration(status.Reset);
    }
}
