using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Dapper;
using Rampart.Data;

namespace Rampart.Audit;

/// <summary>
/// Writes audit records and their daily usage roll-ups, a batch per transaction. A record already stored (same
/// request id) is skipped and not counted again, so a batch may be written any number of times.
/// </summary>
internal sealed class AuditStore(Db db)
{
    private const string InsertRecord =
        """
        INSERT INTO audit_records (id, created_at, endpoint, user_id, key_id, workspace_id, workspace, requested_model, provider, served_model,
            status, outcome, error_code, verdicts, stream, attempts, prompt_tokens, completion_tokens, tokens_estimated, cost_usd,
            latency_ms, ttft_ms, client_ip, user_agent)
        VALUES (@Id, @CreatedAt, @Endpoint, @UserId, @KeyId, @WorkspaceId, @Workspace, @RequestedModel, @Provider, @ServedModel,
            @Status, @Outcome, @ErrorCode, @Verdicts, @Stream, @Attempts, @PromptTokens, @CompletionTokens, @TokensEstimated, @CostUsd,
            @LatencyMs, @TtftMs, @ClientIp, @UserAgent)
        ON CONFLICT (id) DO NOTHING
        """;

    private const string UpsertUsage =
        """
        INSERT INTO usage_daily (day, workspace_id, user_id, key_id, provider, model, requests, prompt_tokens, completion_tokens, cost_usd, blocked)
        VALUES (@Day, @WorkspaceId, @UserId, @KeyId, @Provider, @Model, @Requests, @PromptTokens, @CompletionTokens, @CostUsd, @Blocked)
        ON CONFLICT (day, workspace_id, user_id, key_id, provider, model) DO UPDATE SET
            requests = usage_daily.requests + excluded.requests,
            prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
            completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
            cost_usd = usage_daily.cost_usd + excluded.cost_usd,
            blocked = usage_daily.blocked + excluded.blocked
        """;

    public Db Db => db;

    /// <summary>Stores the records not stored yet and adds them to <c>usage_daily</c>; returns how many were new.</summary>
    public async Task<int> WriteAsync(IReadOnlyCollection<AuditRecord> batch, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var usage = new Dictionary<UsageKey, UsageRow>();
        var inserted = 0;
        await using (var insert = PrepareInsert(connection, transaction))
        {
            foreach (var record in batch)
            {
                Bind(insert, record);
                if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
                {
                    inserted++;
                    Add(usage, record);
                }
            }
        }

        foreach (var row in usage.Values)
        {
            await connection.ExecuteAsync(new CommandDefinition(UpsertUsage, row, transaction, cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return inserted;
    }

    // One prepared statement per batch, its parameters rebound per record: a batch of 500 otherwise spends most of
    // its time building and binding 24 named parameters 500 times.
    private static readonly string[] InsertParameters =
    [
        "Id", "CreatedAt", "Endpoint", "UserId", "KeyId", "WorkspaceId", "Workspace", "RequestedModel", "Provider", "ServedModel",
        "Status", "Outcome", "ErrorCode", "Verdicts", "Stream", "Attempts", "PromptTokens", "CompletionTokens", "TokensEstimated", "CostUsd",
        "LatencyMs", "TtftMs", "ClientIp", "UserAgent",
    ];

    private static DbCommand PrepareInsert(DbConnection connection, DbTransaction transaction)
    {
        var command = connection.CreateCommand();
        command.CommandText = InsertRecord;
        command.Transaction = transaction;
        foreach (var name in InsertParameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@" + name;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    private static void Bind(DbCommand command, AuditRecord r)
    {
        object?[] values =
        [
            r.Id, r.CreatedAt, r.Endpoint, r.UserId, r.KeyId, r.WorkspaceId, r.Workspace, r.RequestedModel, r.Provider, r.ServedModel,
            r.Status, r.Outcome, r.ErrorCode,
            r.Verdicts.Count == 0 ? null : JsonSerializer.Serialize(r.Verdicts, AuditJson.Default.IReadOnlyListString),
            r.Stream ? 1 : 0, r.Attempts, r.PromptTokens, r.CompletionTokens, r.TokensEstimated ? 1 : 0, r.CostUsd,
            r.LatencyMs, r.TtftMs, r.ClientIp, r.UserAgent,
        ];
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
    }

    private static void Add(Dictionary<UsageKey, UsageRow> usage, AuditRecord r)
    {
        var day = DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedAt).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var key = new UsageKey(day, r.WorkspaceId ?? "", r.UserId ?? "", r.KeyId ?? "", r.Provider ?? "", r.ServedModel ?? "");
        if (!usage.TryGetValue(key, out var row))
        {
            usage[key] = row = new UsageRow { Day = key.Day, WorkspaceId = key.WorkspaceId, UserId = key.UserId, KeyId = key.KeyId, Provider = key.Provider, Model = key.Model };
        }

        row.Requests++;
        row.PromptTokens += r.PromptTokens ?? 0;
        row.CompletionTokens += r.CompletionTokens ?? 0;
        row.CostUsd += r.CostUsd ?? 0;
        row.Blocked += r.IsBlocked ? 1 : 0;
    }

    private readonly record struct UsageKey(string Day, string WorkspaceId, string UserId, string KeyId, string Provider, string Model);

    private sealed class UsageRow
    {
        public string Day { get; init; } = "";
        public string WorkspaceId { get; init; } = "";
        public string UserId { get; init; } = "";
        public string KeyId { get; init; } = "";
        public string Provider { get; init; } = "";
        public string Model { get; init; } = "";
        public long Requests { get; set; }
        public long PromptTokens { get; set; }
        public long CompletionTokens { get; set; }
        public double CostUsd { get; set; }
        public long Blocked { get; set; }
    }
}
