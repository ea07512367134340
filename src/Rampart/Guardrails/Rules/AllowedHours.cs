using System.Globalization;

namespace Rampart.Guardrails.Rules;

/// <summary>
/// When a workspace may be used: windows of days and hours in an IANA time zone (e.g. <c>Europe/Berlin</c>,
/// daylight saving time included). A window is <c>from</c> (inclusive) to <c>to</c> (exclusive) on each of its
/// days, <c>"00:00"</c>-<c>"24:00"</c>; a window across midnight is written as two.
/// </summary>
internal sealed record AllowedHours
{
    private static readonly string[] DayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    public string TimeZone { get; set; } = "UTC";

    public IReadOnlyList<HoursWindow>? Windows { get; set; }

    public string? Validate()
    {
        if (!TryZone(out _))
        {
            return $"allowed_hours.time_zone '{TimeZone}' is not a known IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)";
        }

        if (Windows is not { Count: > 0 })
        {
            return "allowed_hours.windows needs at least one window (leave allowed_hours out to allow every hour)";
        }

        for (var i = 0; i < Windows.Count; i++)
        {
            var window = Windows[i];
            var at = $"allowed_hours.windows[{i}]";
            if (window.Days?.FirstOrDefault(d => !DayNames.Contains(d)) is { } day)
            {
                return $"{at}.days has '{day}'; use mon, tue, wed, thu, fri, sat, sun";
            }

            if (ParseTime(window.From) is not { } from || from >= TimeSpan.FromHours(24))
            {
                return $"{at}.from '{window.From}' must be a time HH:mm from 00:00 to 23:59";
            }

            if (ParseTime(window.To) is not { } to)
            {
                return $"{at}.to '{window.To}' must be a time HH:mm from 00:01 to 24:00";
            }

            if (to <= from)
            {
                return $"{at} ends ({window.To}) before it starts ({window.From}); write a window across midnight as two";
            }
        }

        return null;
    }

    /// <summary>Null when <paramref name="now"/> is inside a window; otherwise why not, and when the next window opens.</summary>
    public (string Message, TimeSpan UntilOpen)? Closed(DateTimeOffset now, string workspace)
    {
        if (!TryZone(out var zone) || Windows is not { Count: > 0 } windows)
        {
            return null;
        }

        var local = System.TimeZoneInfo.ConvertTime(now, zone);
        if (windows.Any(w => Covers(w, local.DayOfWeek) && ParseTime(w.From) <= local.TimeOfDay && local.TimeOfDay < ParseTime(w.To)))
        {
            return null;
        }

        var next = NextOpening(windows, zone, local);
        var nowText = local.ToString("ddd HH:mm", CultureInfo.InvariantCulture);
        var message = $"Workspace '{workspace}' accepts requests only {Describe(windows)} ({TimeZone}); it is now {nowText} there.";
        if (next is not { } opening)
        {
            return (message, TimeSpan.Zero);
        }

        var until = opening - now;
        return ($"{message} The next opening is {System.TimeZoneInfo.ConvertTime(opening, zone).ToString("ddd yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} {TimeZone}, in {Span(until)}.", until);
    }

    private bool TryZone(out System.TimeZoneInfo zone) => System.TimeZoneInfo.TryFindSystemTimeZoneById(TimeZone, out zone!);

    private static DateTimeOffset? NextOpening(IReadOnlyList<HoursWindow> windows, System.TimeZoneInfo zone, DateTimeOffset local)
    {
        DateTimeOffset? best = null;
        for (var day = 0; day <= 7; day++)
        {
            var date = local.Date.AddDays(day);
            foreach (var window in windows.Where(w => Covers(w, date.DayOfWeek)))
            {
                var start = date + ParseTime(window.From)!.Value;
                if (day == 0 && start <= local.DateTime)
                {
                    continue;
                }

                // A start inside a spring-forward gap opens when the clocks have jumped.
                while (zone.IsInvalidTime(start))
                {
                    start = start.AddMinutes(1);
                }

                var utc = new DateTimeOffset(start, zone.GetUtcOffset(start));
                if (best is null || utc < best)
                {
                    best = utc;
                }
            }
        }

        return best;
    }

    private static bool Covers(HoursWindow window, DayOfWeek day) => window.Days is not { Count: > 0 } days || days.Contains(DayNames[(int)day]);

    private static string Describe(IReadOnlyList<HoursWindow> windows) => string.Join(" and ", windows.Select(w =>
        $"{(w.Days is { Count: > 0 } days ? string.Join(',', days.Select(d => char.ToUpperInvariant(d[0]) + d[1..])) : "every day")} {w.From}-{w.To}"));

    private static string Span(TimeSpan span) =>
        span.TotalDays >= 1 ? $"{(int)span.TotalDays}d {span.Hours}h {span.Minutes}m"
        : span.TotalHours >= 1 ? $"{span.Hours}h {span.Minutes}m"
        : $"{Math.Max(1, (int)Math.Ceiling(span.TotalMinutes))}m";

    private static TimeSpan? ParseTime(string? text)
    {
        if (text is not { Length: 5 } || text[2] != ':'
            || !int.TryParse(text.AsSpan(0, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var hours)
            || !int.TryParse(text.AsSpan(3, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var minutes)
            || minutes > 59 || hours > 24 || (hours == 24 && minutes > 0))
        {
            return null;
        }

        return new TimeSpan(hours, minutes, 0);
    }
}

/// <summary>One allowed window: on <c>days</c> (all days when left out), from <c>from</c> until <c>to</c>, local time.</summary>
internal sealed record HoursWindow
{
    public IReadOnlyList<string>? Days { get; set; }

    public string From { get; set; } = "00:00";

    public string To { get; set; } = "24:00";
}
