using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using Rampart.Auth;
using Rampart.Data;
using Rampart.OpenAI;

namespace Rampart.Management;

/// <summary>
/// <c>/api/v1/audit</c> (a page at a time), <c>/api/v1/audit/export</c> (CSV or JSON Lines, streamed) and
/// <c>/api/v1/usage</c>. Org admins read everything; others read their own requests plus those of the workspaces
/// they administer, so a member never sees another person's or another workspace's records.
/// </summary>
internal static class AuditEndpoints
{
    private static readonly string[] CsvHeader =
    [
        "id", "created_at", "endpoint", "user_id", "key_id", "workspace_id", "workspace", "requested_model", "provider", "served_model", "status",
        "outcome", "error_code", "verdicts", "stream", "attempts", "prompt_tokens", "completion_tokens", "tokens_estimated", "cost_usd", "latency_ms",
        "ttft_ms", "client_ip", "user_agent",
    ];

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    public static RouteGroupBuilder MapAudit(this RouteGroupBuilder api)
    {
        var audit = api.MapGroup("/audit").WithTags("Audit and usage");
        audit.MapGet("", PageAsync).Produces<PageOf<AuditRecordView>>()
            .WithSummary("Audit records, newest first: filter by from, to, user_id, workspace, key_id, outcome, verdict; page with limit (max 500) and cursor.");
        audit.MapGet("/export", ExportAsync).Produces(StatusCodes.Status200OK, contentType: "text/csv", additionalContentTypes: ["application/x-ndjson"])
            .WithSummary("Every matching audit record as CSV (format=csv) or JSON Lines (format=jsonl), streamed; same filters as /audit.");
        api.MapGet("/usage", UsageAsync).WithTags("Audit and usage").Produces<ListOf<UsageView>>()
            .WithSummary("Daily usage summed by day, workspace, user or model (group_by); filter by from, to, user_id, workspace, key_id.");
        return api;
    }

    private static async Task<IResult> PageAsync(HttpContext http, AccessCache access, Db db, CancellationToken ct)
    {
        var caller = http.GetCaller();
        var snapshot = access.Current;
        var (filter, error) = AuditFilter.Parse(http.Request.Query, snapshot, caller);
        if (filter is null)
        {
            return error!.ToResult();
        }

        var limit = AuditQuery.DefaultLimit;
        if (AuditFilter.Text(http.Request.Query, "limit") is { } limitText
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > AuditQuery.MaxLimit))
        {
            return ApiError.InvalidRequest($"limit must be a whole number from 1 to {AuditQuery.MaxLimit}.", "limit").ToResult();
        }

        AuditQuery.Cursor? cursor = null;
        if (AuditFilter.Text(http.Request.Query, "cursor") is { } cursorText && (cursor = AuditQuery.Cursor.Decode(cursorText)) is null)
        {
            return ApiError.InvalidRequest("cursor is not one this API gave out: pass next_cursor from the previous page unchanged.", "cursor").ToResult();
        }

        var page = await new AuditQuery(db).PageAsync(filter, AuditScope.For(snapshot, caller), cursor, limit, ct);
        return TypedResults.Json(page, ManagementJson.Wire.PageOfAuditRecordView);
    }

    private static async Task ExportAsync(HttpContext http, AccessCache access, Db db, CancellationToken ct)
    {
        var caller = http.GetCaller();
        var snapshot = access.Current;
        var (filter, error) = AuditFilter.Parse(http.Request.Query, snapshot, caller);
        var format = AuditFilter.Text(http.Request.Query, "format") ?? "csv";
        if (filter is null || format is not ("csv" or "jsonl"))
        {
            await (error ?? ApiError.InvalidRequest($"Unknown format '{format}': use csv or jsonl.", "format")).WriteAsync(http);
            return;
        }

        var csv = format == "csv";
        http.Response.ContentType = csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8";
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"rampart-audit.{format}\"";
        await using var writer = new StreamWriter(http.Response.Body, Utf8, bufferSize: 16 * 1024, leaveOpen: true);
        if (csv)
        {
            await writer.WriteLineAsync(string.Join(',', CsvHeader).AsMemory(), ct);
        }

        await foreach (var record in new AuditQuery(db).StreamAsync(filter, AuditScope.For(snapshot, caller), ct))
        {
            // Each record goes to the response as it is read; the writer's buffer is sent whenever it fills.
            await writer.WriteLineAsync((csv ? CsvLine(record) : JsonSerializer.Serialize(record, ManagementJson.Wire.AuditRecordView)).AsMemory(), ct);
        }

        await writer.FlushAsync(ct);
    }

    private static async Task<IResult> UsageAsync(HttpContext http, AccessCache access, Db db, CancellationToken ct)
    {
        var caller = http.GetCaller();
        var snapshot = access.Current;
        var (filter, error) = AuditFilter.Parse(http.Request.Query, snapshot, caller);
        if (filter is null)
        {
            return error!.ToResult();
        }

        if (filter.Outcome is not null || filter.Verdict is not null)
        {
            return ApiError.InvalidRequest("Usage is summed per day: outcome and verdict filters apply to /audit only.", filter.Outcome is null ? "verdict" : "outcome").ToResult();
        }

        var groupBy = AuditFilter.Text(http.Request.Query, "group_by") ?? "day";
        var keys = groupBy switch
        {
            "day" => "day AS Day",
            "workspace" => "workspace_id AS WorkspaceId",
            "user" => "user_id AS UserId",
            "model" => "provider AS Provider, model AS Model",
            _ => null,
        };
        if (keys is null)
        {
            return ApiError.InvalidRequest($"Unknown group_by '{groupBy}': use day, workspace, user or model.", "group_by").ToResult();
        }

        var groupColumns = string.Join(", ", keys.Split(", ").Select(k => k[..k.IndexOf(' ', StringComparison.Ordinal)]));
        var (where, parameters) = AuditQuery.Where(filter, AuditScope.For(snapshot, caller), usage: true);
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryUnbufferedAsync<UsageRow>(
            $"""
            SELECT {keys}, SUM(requests) AS Requests, SUM(prompt_tokens) AS PromptTokens, SUM(completion_tokens) AS CompletionTokens,
                SUM(cost_usd) AS CostUsd, SUM(blocked) AS Blocked
            FROM usage_daily WHERE {where} GROUP BY {groupColumns} ORDER BY {(groupBy == "day" ? "day" : "SUM(requests) DESC, " + groupColumns)}
            """, parameters).ToListAsync(ct);
        var views = rows.Select(r => new UsageView
        {
            Day = r.Day,
            WorkspaceId = r.WorkspaceId,
            Workspace = r.WorkspaceId is { Length: > 0 } id ? snapshot.FindWorkspaceById(id)?.Name : null,
            UserId = r.UserId,
            Email = r.UserId is { Length: > 0 } user ? snapshot.FindUser(user)?.Email : null,
            Provider = r.Provider,
            Model = r.Model,
            Requests = r.Requests,
            PromptTokens = r.PromptTokens,
            CompletionTokens = r.CompletionTokens,
            CostUsd = r.CostUsd,
            Blocked = r.Blocked,
        }).ToList();
        return TypedResults.Json(new ListOf<UsageView>(views), ManagementJson.Wire.ListOfUsageView);
    }

    private static string CsvLine(AuditRecordView r) => string.Join(',',
        Cell(r.Id), Cell(r.CreatedAt.ToString("O", CultureInfo.InvariantCulture)), Cell(r.Endpoint), Cell(r.UserId), Cell(r.KeyId), Cell(r.WorkspaceId),
        Cell(r.Workspace), Cell(r.RequestedModel), Cell(r.Provider), Cell(r.ServedModel), Number(r.Status), Cell(r.Outcome), Cell(r.ErrorCode),
        Cell(string.Join("; ", r.Verdicts)), r.Stream ? "true" : "false", Number(r.Attempts), Number(r.PromptTokens), Number(r.CompletionTokens),
        r.TokensEstimated ? "true" : "false", Number(r.CostUsd), Number(r.LatencyMs), Number(r.TtftMs), Cell(r.ClientIp), Cell(r.UserAgent));

    /// <summary>
    /// RFC 4180 quoting, and text a spreadsheet would run as a formula (a user agent of <c>=HYPERLINK(…)</c>) is
    /// prefixed with a quote, as OWASP advises for CSV exports.
    /// </summary>
    private static string Cell(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        if (text[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            text = "'" + text;
        }

        return text.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
    }

    private static string Number(double? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";

    private static string Number(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";

    internal sealed class UsageRow
    {
        public string? Day { get; set; }
        public string? WorkspaceId { get; set; }
        public string? UserId { get; set; }
        public string? Provider { get; set; }
        public string? Model { get; set; }
        public long Requests { get; set; }
        public long PromptTokens { get; set; }
        public long CompletionTokens { get; set; }
        public double CostUsd { get; set; }
        public long Blocked { get; set; }
    }
}
