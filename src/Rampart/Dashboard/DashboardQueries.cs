using System.Globalization;
using System.Text;
using Dapper;
using Rampart.Data;

namespace Rampart.Dashboard;

/// <summary>
/// The reads the pages need beyond the access snapshot (passwords, member lists, audit rows, daily usage), in the
/// SQL subset SQLite and PostgreSQL share. Writes to access data go through <see cref="AccessStore"/>.
/// </summary>
internal sealed class DashboardQueries(Db db)
{
    public const int AuditPageSize = 200;

    public async Task<(string UserId, string? PasswordHash, long? DisabledAt)?> FindCredentialsAsync(string email, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<CredentialRow>(
            "SELECT id AS Id, password_hash AS PasswordHash, disabled_at AS DisabledAt FROM users WHERE email = @Email",
            new { Email = email.Trim().ToLowerInvariant(), cancellationToken });
        return row is null ? null : (row.Id, row.PasswordHash, row.DisabledAt);
    }

    public async Task<string?> PasswordHashAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<string?>(
            "SELECT password_hash FROM users WHERE id = @UserId", new { UserId = userId, cancellationToken });
    }

    /// <summary>Not access data (no key or role changes), so the access-state version is left alone.</summary>
    public async Task SetPasswordHashAsync(string userId, string passwordHash, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(
            "UPDATE users SET password_hash = @Hash WHERE id = @UserId", new { UserId = userId, Hash = passwordHash, cancellationToken });
    }

    public async Task<IReadOnlyList<MemberRow>> MembersAsync(string workspaceId, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        return [.. await connection.QueryAsync<MemberRow>(
            """
            SELECT u.id AS UserId, u.email AS Email, u.display_name AS DisplayName, m.role AS Role
            FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.workspace_id = @WorkspaceId ORDER BY u.email
            """, new { WorkspaceId = workspaceId, cancellationToken })];
    }

    public async Task<IReadOnlyList<AuditListRow>> AuditAsync(AuditFilter filter, Scope scope, CancellationToken cancellationToken)
    {
        var (where, parameters) = Where(scope, "created_at", filter.From, filter.To, filter.WorkspaceId, filter.UserId);
        if (filter.Outcome is { Length: > 0 } outcome)
        {
            where.Append(" AND outcome = @Outcome");
            parameters.Add("Outcome", outcome);
        }

        parameters.Add("Limit", AuditPageSize);
        await using var connection = await db.OpenAsync(cancellationToken);
        return await connection.QueryUnbufferedAsync<AuditListRow>(
            $"""
            SELECT id AS Id, created_at AS CreatedAt, user_id AS UserId, key_id AS KeyId, workspace AS Workspace, requested_model AS RequestedModel,
                provider AS Provider, served_model AS ServedModel, CAST(status AS BIGINT) AS Status, outcome AS Outcome, error_code AS ErrorCode, verdicts AS Verdicts,
                prompt_tokens AS PromptTokens, completion_tokens AS CompletionTokens, cost_usd AS CostUsd, latency_ms AS LatencyMs
            FROM audit_records WHERE {where} ORDER BY created_at DESC, id DESC LIMIT @Limit
            """, parameters).ToListAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<UsageRow>> UsageAsync(DateOnly from, string? workspaceId, string? model, Scope scope, CancellationToken cancellationToken)
    {
        var (where, parameters) = Where(scope, null, null, null, workspaceId, null);
        where.Append(" AND day >= @FromDay");
        parameters.Add("FromDay", from.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        if (model is { Length: > 0 })
        {
            where.Append(" AND model = @Model");
            parameters.Add("Model", model);
        }

        await using var connection = await db.OpenAsync(cancellationToken);
        return await connection.QueryUnbufferedAsync<UsageRow>(
            $"""
            SELECT day AS Day, workspace_id AS WorkspaceId, provider AS Provider, model AS Model, CAST(SUM(requests) AS BIGINT) AS Requests,
                CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT) AS Tokens, CAST(SUM(cost_usd) AS DOUBLE PRECISION) AS CostUsd,
                CAST(SUM(blocked) AS BIGINT) AS Blocked
            FROM usage_daily WHERE {where}
            GROUP BY day, workspace_id, provider, model ORDER BY day
            """, parameters).ToListAsync(cancellationToken);
    }

    /// <summary>
    /// What a person may see of the audit and usage tables: everything for an org admin, otherwise their own requests
    /// and every request in the workspaces they administer.
    /// </summary>
    private static (StringBuilder Where, DynamicParameters Parameters) Where(
        Scope scope, string? timeColumn, long? from, long? to, string? workspaceId, string? userId)
    {
        var where = new StringBuilder("1 = 1");
        var parameters = new DynamicParameters();
        if (!scope.Everything)
        {
            where.Append(" AND (user_id = @ScopeUser");
            parameters.Add("ScopeUser", scope.UserId);
            for (var i = 0; i < scope.AdminOf.Count; i++)
            {
                where.Append(CultureInfo.InvariantCulture, $" OR workspace_id = @ScopeWs{i}");
                parameters.Add($"ScopeWs{i}", scope.AdminOf[i]);
            }

            where.Append(')');
        }

        if (timeColumn is not null && from is not null)
        {
            where.Append(CultureInfo.InvariantCulture, $" AND {timeColumn} >= @From");
            parameters.Add("From", from);
        }

        if (timeColumn is not null && to is not null)
        {
            where.Append(CultureInfo.InvariantCulture, $" AND {timeColumn} < @To");
            parameters.Add("To", to);
        }

        if (workspaceId is not null)
        {
            where.Append(" AND workspace_id = @WorkspaceId");
            parameters.Add("WorkspaceId", workspaceId);
        }

        if (userId is not null)
        {
            where.Append(" AND user_id = @UserId");
            parameters.Add("UserId", userId);
        }

        return (where, parameters);
    }

    internal sealed record CredentialRow(string Id, string? PasswordHash, long? DisabledAt);
}

/// <summary>Whose records a page may show; see <see cref="DashboardQueries"/>.</summary>
internal sealed record Scope(bool Everything, string UserId, IReadOnlyList<string> AdminOf);

internal sealed record AuditFilter(long? From, long? To, string? UserId, string? WorkspaceId, string? Outcome);

internal sealed record MemberRow(string UserId, string Email, string DisplayName, string Role);

/// <summary>Dapper fills a positional record only when every column's type matches exactly: <c>status</c> is read as BIGINT because
/// PostgreSQL's INTEGER is 32-bit where SQLite's is 64-bit.</summary>
internal sealed record AuditListRow(
    string Id, long CreatedAt, string? UserId, string? KeyId, string? Workspace, string? RequestedModel, string? Provider, string? ServedModel,
    long Status, string Outcome, string? ErrorCode, string? Verdicts, long? PromptTokens, long? CompletionTokens, double? CostUsd, double LatencyMs);

/// <summary>A class, not a positional record: the sums' column types are unknown to SQLite on an empty result, so Dapper must convert by name.</summary>
internal sealed class UsageRow
{
    public string Day { get; init; } = "";
    public string WorkspaceId { get; init; } = "";
    public string Provider { get; init; } = "";
    public string Model { get; init; } = "";
    public long Requests { get; init; }
    public long Tokens { get; init; }
    public double CostUsd { get; init; }
    public long Blocked { get; init; }
}
