using System.Globalization;

namespace Rampart.Dashboard;

/// <summary>A daily bar chart drawn on the server as inline SVG: no script, no chart library, readable without colour.</summary>
internal static class SvgChart
{
    private const int Width = 600;
    private const int Height = 170;
    private const int Left = 70;
    private const int Bottom = 26;
    private const int Top = 8;

    public static Html Bars(string id, string title, string total, IReadOnlyList<(DateOnly Day, double Value)> points, Func<double, string> format, string barClass)
    {
        var max = points.Count == 0 ? 0 : points.Max(p => p.Value);
        var scale = max <= 0 ? 1 : max;
        var plotWidth = Width - Left - 8;
        var plotHeight = Height - Top - Bottom;
        var slot = points.Count == 0 ? plotWidth : (double)plotWidth / points.Count;
        var bars = Html.Join(points.Select((p, i) =>
        {
            var h = p.Value <= 0 ? 0 : Math.Max(1, p.Value / scale * plotHeight);
            var x = Left + (i * slot) + (slot * 0.15);
            var y = Top + plotHeight - h;
            return Html.Of($"""<rect class="bar {barClass}" x="{F(x)}" y="{F(y)}" width="{F(slot * 0.7)}" height="{F(h)}"><title>{p.Day:yyyy-MM-dd}: {format(p.Value)}</title></rect>""");
        }));
        var first = points.Count > 0 ? points[0].Day.ToString("MMM d", CultureInfo.InvariantCulture) : "";
        var last = points.Count > 0 ? points[^1].Day.ToString("MMM d", CultureInfo.InvariantCulture) : "";
        return Html.Of($"""
            <figure class="chart card-chart" id="{id}">
              <figcaption><strong>{title}</strong></figcaption>
              <p class="total">{total}</p>
              <svg viewBox="0 0 {Width} {Height}" role="img" aria-label="{title} per day, from {first} to {last}; highest {format(max)}">
                <line x1="{Left}" y1="{Top}" x2="{Width - 8}" y2="{Top}"></line>
                <line x1="{Left}" y1="{Top + plotHeight}" x2="{Width - 8}" y2="{Top + plotHeight}"></line>
                <text x="{Left - 6}" y="{Top + 12}" text-anchor="end">{format(max)}</text>
                <text x="{Left - 6}" y="{Top + plotHeight}" text-anchor="end">0</text>
                {bars}
                <text x="{Left}" y="{Height - 6}">{first}</text>
                <text x="{Width - 8}" y="{Height - 6}" text-anchor="end">{last}</text>
              </svg>
            </figure>
            """);
    }

    private static string F(double value) => Math.Round(value, 1).ToString(CultureInfo.InvariantCulture);
}
