using System.Globalization;

namespace Rampart.Dashboard;

/// <summary>Requests, tokens, cost and blocked requests per day, per workspace and model, from the daily roll-ups.</summary>
internal static class UsagePage
{
    private static readonly int[] Ranges = [7, 30, 90];

    public static async Task<IResult> ShowAsync(HttpContext http, DashboardQueries queries, TimeProvider time, int? days, string? workspace, string? model)
    {
        var request = DashboardRequest.For(http);
        var span = days is { } d && Ranges.Contains(d) ? d : 30;
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var from = today.AddDays(1 - span);
        var workspaceId = string.IsNullOrEmpty(workspace) ? null : request.Visible(workspace)?.Id ?? "(none)";
        var rows = await queries.UsageAsync(from, workspaceId, string.IsNullOrWhiteSpace(model) ? null : model.Trim(), request.Scope, request.Aborted);

        var byDay = rows.GroupBy(r => r.Day).ToDictionary(g => g.Key, g => (
            Requests: g.Sum(r => r.Requests), Tokens: g.Sum(r => r.Tokens), Cost: g.Sum(r => r.CostUsd), Blocked: g.Sum(r => r.Blocked)), StringComparer.Ordinal);
        var series = Enumerable.Range(0, span).Select(i => from.AddDays(i))
            .Select(day => (Day: day, Totals: byDay.GetValueOrDefault(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)))).ToList();

        var filters = Html.Of($"""
            <form class="inline" method="get" action="/dashboard/usage" id="usage-filters">
              <label>Period <select name="days">{Layout.Options(Ranges.Select(r => (r.ToString(CultureInfo.InvariantCulture), $"Last {r} days")), span.ToString(CultureInfo.InvariantCulture))}</select></label>
              <label>Workspace <select name="workspace">{Layout.Options([("", "All workspaces"), .. request.Workspaces.Select(w => (w.Name, w.Name))], workspace ?? "")}</select></label>
              <label>Model <input type="text" name="model" value="{model ?? ""}" placeholder="e.g. gpt-4o-mini"></label>
              <button type="submit">Show</button>
            </form>
            """);

        Html body;
        if (rows.Count == 0)
        {
            body = Layout.Empty("No requests in this period yet. Usage appears here a few seconds after requests are made.");
        }
        else
        {
            var charts = Html.Of($"""
                <div class="charts">
                  {SvgChart.Bars("chart-requests", "Requests", Layout.Number(rows.Sum(r => r.Requests)), [.. series.Select(s => (s.Day, (double)s.Totals.Requests))], v => Layout.Number((long)v), "")}
                  {SvgChart.Bars("chart-tokens", "Tokens", Layout.Number(rows.Sum(r => r.Tokens)), [.. series.Select(s => (s.Day, (double)s.Totals.Tokens))], v => Layout.Number((long)v), "tokens")}
                  {SvgChart.Bars("chart-cost", "Estimated cost", Layout.Money(rows.Sum(r => r.CostUsd)), [.. series.Select(s => (s.Day, s.Totals.Cost))], Layout.Money, "cost")}
                  {SvgChart.Bars("chart-blocked", "Blocked requests", Layout.Number(rows.Sum(r => r.Blocked)), [.. series.Select(s => (s.Day, (double)s.Totals.Blocked))], v => Layout.Number((long)v), "bad")}
                </div>
                """);
            var breakdown = rows
                .GroupBy(r => (r.WorkspaceId, r.Provider, r.Model))
                .Select(g => (g.Key, Requests: g.Sum(r => r.Requests), Tokens: g.Sum(r => r.Tokens), Cost: g.Sum(r => r.CostUsd), Blocked: g.Sum(r => r.Blocked)))
                .OrderByDescending(x => x.Requests)
                .Select(x => Html.Of($"""
                    <tr>
                      <td>{request.Access.FindWorkspaceById(x.Key.WorkspaceId)?.Name ?? (x.Key.WorkspaceId.Length == 0 ? "(no workspace)" : "(deleted workspace)")}</td>
                      <td><code>{(x.Key.Model.Length == 0 ? "—" : $"{x.Key.Provider}/{x.Key.Model}")}</code></td>
                      <td class="num">{Layout.Number(x.Requests)}</td><td class="num">{Layout.Number(x.Tokens)}</td>
                      <td class="num">{Layout.Money(x.Cost)}</td><td class="num">{Layout.Number(x.Blocked)}</td>
                    </tr>
                    """));
            body = Html.Of($"""
                {charts}
                <h2>By workspace and model</h2>
                <div class="table-wrap"><table id="usage-table">
                  <thead><tr><th>Workspace</th><th>Model</th><th class="num">Requests</th><th class="num">Tokens</th><th class="num">Cost</th><th class="num">Blocked</th></tr></thead>
                  <tbody>{Html.Join(breakdown)}</tbody>
                </table></div>
                """);
        }

        return request.Page("Usage", "usage", Html.Of($"""
            <section class="card">{filters}</section>
            <section class="card">{body}<p class="hint">Days are UTC. Cost is estimated from the price table; models without a price count as $0.</p></section>
            """));
    }
}
