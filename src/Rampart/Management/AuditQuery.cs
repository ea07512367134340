using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Dapper;
using Rampart.Audit;
using Rampart.Auth;
using Rampart.Data;
using Rampart.OpenAI;

namespace Rampart.Management;

/// <summary>What the caller may read: everything (org admins), or their own requests plus those of the workspaces they administer.</summary>
internal sealed record AuditScope(string? UserId, IReadOnlyList<string> Workspaces)
{
    public static AuditScope For(AccessSnapshot snapshot, Caller caller) =>
        caller.User.IsOrgAdmin ? new AuditScope(null, []) : new AuditScope(caller.User.Id, ManagementAccess.AdministeredWorkspaces(snapshot, caller));
}

/// <summary>The filters of an audit or usage query, parsed from the query string; each names the parameter it came from when it is wrong.</summary>
internal sealed record AuditFilter(long? From, long? To, string? UserId, string? Workspace, string? KeyId, string? Outcome, string? Verdict)
{

    /// <summary>
    /// Reads <c>from</c>, <c>to</c> (ISO 8601, <c>to</c> exclusive), <c>user_id</c>, <c>workspace</c> (name or id), <c>key_id</c>,
    /// <c>outcome</c> and <c>verdict</c> (text the verdicts contain, any case). A workspace the caller cannot see is refused.
    /// </summary>
    public static (AuditFilter? Filter, ApiError? Error) Parse(IQueryCollection query, AccessSnapshot snapshot, Caller caller)
    {
        var (from, fromError) = ParseTime(query, "from");
        var (to, toError) = ParseTime(query, "to");
        if ((fromError ?? toError) is { } timeError)
        {
            return (null, timeError);
        }

        var outcome = Text(query, "outcome");
        if (outcome is not null && !AuditOutcomes.All.Contains(outcome))
        {
            return (null, ApiError.InvalidRequest($"Unknown outcome '{outcome}': use one of {string.Join(", ", AuditOutcomes.All)}.", "outcome"));
        }

        var workspace = Text(query, "workspace");
        if (workspace is not null && !caller.User.IsOrgAdmin)
        {
            // Members may filter on their own workspaces (and see only their own requests there); other workspaces do not exist for them.
            var (found, error) = ManagementAccess.Workspace(snapshot, caller, workspace, requireAdmin: false);
            if (found is null)
            {
                return (null, error);
            }

            workspace = found.Id;
        }
        else if (workspace is not null && (snapshot.FindWorkspace(workspace) ?? snapshot.FindWorkspaceById(workspace)) is { } known)
        {
            workspace = known.Id;
        }

        return (new AuditFilter(from, to, Text(query, "user_id"), workspace, Text(query, "key_id"), outcome, Text(query, "verdict")), null);
    }

    private static (long? At, ApiError? Error) ParseTime(IQueryCollection query, string name)
    {
        if (Text(query, name) is not { } text)
        {
            return (null, null);
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? (at.ToUnixTimeMilliseconds(), null)
            : (null, ApiError.InvalidRequest($"'{text}' is not a time: use ISO 8601, e.g. 2026-11-21 or 2026-11-21T09:30:00Z.", name));
    }

    public static string? Text(IQueryCollection query, string name) => query[name].ToString() is { Length: > 0 } value ? value.Trim() : null;
}

/// <summary>Reads <c>audit_records</c>, newest first, within the caller's scope.</summary>
internal sealed class AuditQuery(Db db)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    private const string Columns =
        "id AS Id, created_at AS CreatedAt, endpoint AS Endpoint, user_id AS UserId, key_id AS KeyId, workspace_id AS WorkspaceId, workspace AS Workspace, " +
        "requested_model AS RequestedModel, provider AS Provider, served_model AS ServedModel, status AS Status, outcome AS Outcome, error_code AS ErrorCode, " +
        "verdicts AS Verdicts, stream AS Stream, attempts AS Attempts, prompt_tokens AS PromptTokens, completion_tokens AS CompletionTokens, " +
        "tokens_estimated AS TokensEstimated, cost_usd AS CostUsd, latency_ms AS LatencyMs, ttft_ms AS TtftMs, client_ip AS ClientIp, user_agent AS UserAgent";

    /// <summary>One page: up to <paramref name="limit"/> records older than the <paramref name="cursor"/> record.</summary>
    public async Task<PageOf<AuditRecordView>> PageAsync(AuditFilter filter, AuditScope scope, Cursor? cursor, int limit, CancellationToken cancellationToken)
    {
        var (where, parameters) = Where(filter, scope);
        if (cursor is { } c)
        {
            where += " AND (created_at < @CursorAt OR (created_at = @CursorAt AND id < @CursorId))";
            parameters.Add("CursorAt", c.CreatedAt);
            parameters.Add("CursorId", c.Id);
        }

        parameters.Add("Take", limit + 1);
        await using var connection = await db.OpenAsync(cancellationToken);
        var rows = await connection.QueryUnbufferedAsync<Row>(
            $"SELECT {Columns} FROM audit_records WHERE {where} ORDER BY created_at DESC, id DESC LIMIT @Take", parameters).ToListAsync(cancellationToken);
        var page = rows.Take(limit).Select(r => r.ToView()).ToList();
        var next = rows.Count > limit ? new Cursor(rows[limit - 1].CreatedAt, rows[limit - 1].Id).Encode() : null;
        return new PageOf<AuditRecordView>(page, next is not null, next);
    }

    /// <summary>Every matching record, newest first, read from the database as they are written out.</summary>
    public async IAsyncEnumerable<AuditRecordView> StreamAsync(AuditFilter filter, AuditScope scope, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (where, parameters) = Where(filter, scope);
        await using var connection = await db.OpenAsync(cancellationToken);
        var rows = connection.QueryUnbufferedAsync<Row>($"SELECT {Columns} FROM audit_records WHERE {where} ORDER BY created_at DESC, id DESC", parameters);
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            yield return row.ToView();
        }
    }

    /// <summary>The WHERE clause shared by audit and (with <paramref name="usage"/>) <c>usage_daily</c> queries.</summary>
    public static (string Sql, DynamicParameters Parameters) Where(AuditFilter filter, AuditScope scope, bool usage = false)
    {
        var clauses = new List<string> { "1 = 1" };
        var parameters = new DynamicParameters();
        if (scope.UserId is not null)
        {
            // One parameter per workspace rather than Dapper's "IN @list": on PostgreSQL Dapper sends a list as one array
            // parameter, which "IN" does not accept.
            var workspaces = scope.Workspaces.Select((id, i) => (Name: $"ScopeWs{i}", Id: id)).ToList();
            clauses.Add(workspaces.Count == 0
                ? "user_id = @ScopeUser"
                : $"(user_id = @ScopeUser OR workspace_id IN ({string.Join(", ", workspaces.Select(w => "@" + w.Name))}))");
            parameters.Add("ScopeUser", scope.UserId);
            foreach (var (name, id) in workspaces)
            {
                parameters.Add(name, id);
            }
        }

        var timeColumn = usage ? "day" : "created_at";
        if (filter.From is { } from)
        {
            clauses.Add($"{timeColumn} >= @From");
            parameters.Add("From", usage ? Day(from) : from);
        }

        if (filter.To is { } to)
        {
            // Days are whole: "to" a time within a day includes that day.
            clauses.Add(usage ? "day <= @To" : "created_at < @To");
            parameters.Add("To", usage ? Day(to) : to);
        }

        Equal(clauses, parameters, "user_id", "UserId", filter.UserId);
        Equal(clauses, parameters, "key_id", "KeyId", filter.KeyId);
        if (filter.Workspace is not null)
        {
            clauses.Add(usage ? "workspace_id = @Workspace" : "(workspace_id = @Workspace OR workspace = @Workspace)");
            parameters.Add("Workspace", filter.Workspace);
        }

        if (!usage)
        {
            Equal(clauses, parameters, "outcome", "Outcome", filter.Outcome);
            if (filter.Verdict is not null)
            {
                // Verdicts are stored as a JSON array with non-ASCII escaped (×, é), so the text is searched in the same encoding.
                clauses.Add(@"LOWER(verdicts) LIKE @Verdict ESCAPE '\'");
                parameters.Add("Verdict", "%" + EscapeLike(JsonEncodedText.Encode(filter.Verdict).ToString().ToLowerInvariant()) + "%");
            }
        }

        return (string.Join(" AND ", clauses), parameters);
    }

    private static void Equal(List<string> clauses, DynamicParameters parameters, string column, string name, string? value)
    {
        if (value is not null)
        {
            clauses.Add($"{column} = @{name}");
            parameters.Add(name, value);
        }
    }

    private static string Day(long unixMilliseconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string EscapeLike(string text) => text.Replace(@"\", @"\\", StringComparison.Ordinal)
        .Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal);

    /// <summary>Where a page ended: the last record's time and id, opaque to callers.</summary>
    internal readonly record struct Cursor(long CreatedAt, string Id)
    {
        public string Encode() =>
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{CreatedAt.ToString(CultureInfo.InvariantCulture)}.{Id}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        public static Cursor? Decode(string text)
        {
            try
            {
                var base64 = text.Replace('-', '+').Replace('_', '/');
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=')));
                var dot = decoded.IndexOf('.', StringComparison.Ordinal);
                return dot > 0 && long.TryParse(decoded.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var at)
                    ? new Cursor(at, decoded[(dot + 1)..])
                    : null;
            }
            catch (FormatException)
            {
                return null;
            }
        }
    }

    /// <summary>An <c>audit_records</c> row as Dapper reads it (SQLite returns integers as 64-bit).</summary>
    internal sealed class Row
    {
        public string Id { get; set; } = "";
        public long CreatedAt { get; set; }
        public string? Endpoint { get; set; }
        public string? UserId { get; set; }
        public string? KeyId { get; set; }
        public string? WorkspaceId { get; set; }
        public string? Workspace { get; set; }
        public string? RequestedModel { get; set; }
        public string? Provider { get; set; }
        public string? ServedModel { get; set; }
        public long Status { get; set; }
        public string Outcome { get; set; } = "";
        public string? ErrorCode { get; set; }
        public string? Verdicts { get; set; }
        public long Stream { get; set; }
        public long Attempts { get; set; }
        public long? PromptTokens { get; set; }
        public long? CompletionTokens { get; set; }
        public long TokensEstimated { get; set; }
        public double? CostUsd { get; set; }
        public double LatencyMs { get; set; }
        public double? TtftMs { get; set; }
        public string? ClientIp { get; set; }
        public string? UserAgent { get; set; }

        public AuditRecordView ToView() => new(
            Id, Time.FromMs(CreatedAt), Endpoint, UserId, KeyId, WorkspaceId, Workspace, RequestedModel, Provider, ServedModel, (int)Status, Outcome, ErrorCode,
            Verdicts is null ? [] : JsonSerializer.Deserialize(Verdicts, AuditJson.Default.IReadOnlyListString) ?? [],
            Stream != 0, (int)Attempts, PromptTokens, CompletionTokens, TokensEstimated != 0, CostUsd, LatencyMs, TtftMs, ClientIp, UserAgent);
    }
}
