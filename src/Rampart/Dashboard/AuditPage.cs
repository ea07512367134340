using System.Globalization;
using System.Text.Json;
using Rampart.Audit;

namespace Rampart.Dashboard;

/// <summary>The audit log: newest first, filtered by time, user, workspace and outcome; each verdict a badge.</summary>
internal static class AuditPage
{

    public static async Task<IResult> ShowAsync(HttpContext http, DashboardQueries queries, string? from, string? to, string? user, string? workspace, string? outcome)
    {
        var request = DashboardRequest.For(http);
        string? error = null;
        var fromDay = ParseDay(from, ref error, "From");
        var toDay = ParseDay(to, ref error, "To");

        string? userId = null;
        if (!string.IsNullOrWhiteSpace(user))
        {
            var found = await request.Service<Data.AccessStore>().FindUserAsync(user.Trim(), request.Aborted);
            userId = found?.Id ?? "(none)";
            error ??= found is null ? "No user has that email address." : null;
        }

        string? workspaceId = null;
        if (!string.IsNullOrEmpty(workspace))
        {
            workspaceId = request.Visible(workspace)?.Id ?? "(none)";
        }

        outcome = AuditOutcomes.All.Contains(outcome) ? outcome : null;
        var filter = new AuditFilter(
            fromDay is { } f ? new DateTimeOffset(f.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds() : null,
            toDay is { } t ? new DateTimeOffset(t.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds() : null,
            userId, workspaceId, outcome);
        var rows = error is null ? await queries.AuditAsync(filter, request.Scope, request.Aborted) : [];

        var workspaceOptions = Layout.Options([("", "All workspaces"), .. request.Workspaces.Select(w => (w.Name, w.Name))], workspace ?? "");
        var outcomeOptions = Layout.Options([("", "All outcomes"), .. AuditOutcomes.All.Select(o => (o, o.Replace('_', ' ')))], outcome ?? "");
        var filters = Html.Of($"""
            <form class="inline" method="get" action="/dashboard/audit" id="audit-filters">
              <label>From <input type="date" name="from" value="{from ?? ""}"></label>
              <label>To <input type="date" name="to" value="{to ?? ""}"></label>
              <label>User <input type="text" name="user" value="{user ?? ""}" placeholder="email"></label>
              <label>Workspace <select name="workspace">{workspaceOptions}</select></label>
              <label>Outcome <select name="outcome">{outcomeOptions}</select></label>
              <button type="submit">Filter</button>
              <a href="/dashboard/audit">Clear</a>
            </form>
            """);

        var body = rows.Count == 0
            ? Layout.Empty(error is null ? "No requests match these filters." : "Fix the filters above to see requests.")
            : Html.Of($"""
                <div class="table-wrap"><table id="audit">
                  <thead><tr><th>Time (UTC)</th><th>Outcome</th><th>Verdicts</th><th>User</th><th>Workspace / model</th><th class="num">Tokens</th><th class="num">Cost</th><th class="num">Latency</th><th>Request</th></tr></thead>
                  <tbody>{Html.Join(rows.Select(r => Row(request, r)))}</tbody>
                </table></div>
                {(rows.Count == DashboardQueries.AuditPageSize ? Html.Of($"""<p class="hint">Showing the newest {DashboardQueries.AuditPageSize} matches; narrow the time range to see older ones.</p>""") : Html.Empty)}
                """);
        var scope = request.User.IsOrgAdmin ? "every request" : "your own requests and those in workspaces you administer";
        return request.Page("Audit log", "audit", Html.Of($"""
            <section class="card">
              <p class="muted">Every API request, whatever its outcome: {scope}. Prompts, answers and found values are never recorded.</p>
              {Layout.Alert("error", error)}
              {filters}
            </section>
            <section class="card">{body}</section>
            """), error is null ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest);
    }

    private static Html Row(DashboardRequest request, AuditListRow r)
    {
        var who = r.UserId is null ? null : request.Access.FindUser(r.UserId);
        var verdicts = r.Verdicts is null ? [] : JsonSerializer.Deserialize(r.Verdicts, AuditJson.Default.IReadOnlyListString) ?? [];
        var model = r.ServedModel is { } served && served != r.RequestedModel ? $"{r.RequestedModel} → {r.Provider}/{served}" : r.RequestedModel ?? "";
        var tokens = r.PromptTokens is null && r.CompletionTokens is null ? "—" : Layout.Number((r.PromptTokens ?? 0) + (r.CompletionTokens ?? 0));
        return Html.Of($"""
            <tr data-request-id="{r.Id}">
              <td class="mono">{Layout.Time(r.CreatedAt)}</td>
              <td><span class="badge {OutcomeClass(r.Outcome)}">{r.Outcome.Replace('_', ' ')}</span><div class="hint">{r.Status}{(r.ErrorCode is null ? "" : " " + r.ErrorCode)}</div></td>
              <td class="verdict">{(verdicts.Count == 0 ? Html.Raw("<span class=\"badge grey\">no findings</span>") : Html.Join(verdicts.Select(v => Html.Of($"""<span class="badge {VerdictClass(v)}">{v}</span>"""))))}</td>
              <td class="who-col">{who?.Email ?? (r.UserId ?? "—")}</td>
              <td>{r.Workspace ?? "—"}<div class="hint">{model}</div></td>
              <td class="num">{tokens}</td>
              <td class="num">{(r.CostUsd is { } cost ? Layout.Money(cost) : "—")}</td>
              <td class="num">{Math.Round(r.LatencyMs).ToString(CultureInfo.InvariantCulture)} ms</td>
              <td class="mono hint">{r.Id}</td>
            </tr>
            """);
    }

    private static string OutcomeClass(string outcome) => outcome switch
    {
        AuditOutcomes.Ok => "ok",
        AuditOutcomes.Blocked or AuditOutcomes.Forbidden or AuditOutcomes.Unauthenticated => "bad",
        AuditOutcomes.RateLimited or AuditOutcomes.UpstreamError or AuditOutcomes.UpstreamTimeout or AuditOutcomes.StreamFailed or AuditOutcomes.Overloaded or AuditOutcomes.Error => "warn",
        _ => "grey",
    };

    private static string VerdictClass(string verdict) =>
        verdict.StartsWith("Blocked", StringComparison.Ordinal) || verdict.StartsWith("API key refused", StringComparison.Ordinal) ? "bad"
        : verdict.Contains("redacted", StringComparison.OrdinalIgnoreCase) || verdict.Contains("obfuscated", StringComparison.OrdinalIgnoreCase) ? "warn"
        : "info";

    private static DateOnly? ParseDay(string? text, ref string? error, string label)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return day;
        }

        error ??= $"{label} must be a date like 2026-01-31.";
        return null;
    }
}
