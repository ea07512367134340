using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;
using Rampart.Data;
using SQLitePCL;

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

    /// <summary>
    /// The PostgreSQL twin of <see cref="InsertRecord"/>: the whole batch in one statement, one array per column, and
    /// the ids actually inserted come back, so the roll-ups count exactly those.
    /// </summary>
    private const string InsertRecordsPostgres =
        """
        INSERT INTO audit_records (id, created_at, endpoint, user_id, key_id, workspace_id, workspace, requested_model, provider, served_model,
            status, outcome, error_code, verdicts, stream, attempts, prompt_tokens, completion_tokens, tokens_estimated, cost_usd,
            latency_ms, ttft_ms, client_ip, user_agent)
        SELECT * FROM unnest(@Id::text[], @CreatedAt::bigint[], @Endpoint::text[], @UserId::text[], @KeyId::text[], @WorkspaceId::text[],
            @Workspace::text[], @RequestedModel::text[], @Provider::text[], @ServedModel::text[], @Status::integer[], @Outcome::text[],
            @ErrorCode::text[], @Verdicts::text[], @Stream::integer[], @Attempts::integer[], @PromptTokens::bigint[], @CompletionTokens::bigint[],
            @TokensEstimated::integer[], @CostUsd::double precision[], @LatencyMs::double precision[], @TtftMs::double precision[],
            @ClientIp::text[], @UserAgent::text[])
        ON CONFLICT (id) DO NOTHING
        RETURNING id
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
        // SQLite: BEGIN IMMEDIATE takes the write lock now (waiting for it as any command would), so the inserts that
        // follow on the raw statement cannot meet a busy database halfway through the batch.
        await using var transaction = connection is SqliteConnection sqlite
            ? sqlite.BeginTransaction(deferred: false)
            : await connection.BeginTransactionAsync(cancellationToken);
        var storable = batch.Select(Storable).ToList();
        var inserted = connection is SqliteConnection lite
            ? InsertEach(lite, storable)
            : await InsertBatchAsync(connection, transaction, storable, cancellationToken);
        var usage = new Dictionary<UsageKey, UsageRow>();
        foreach (var record in inserted)
        {
            Add(usage, record);
        }

        // In one fixed order (the keys' text), so two instances adding to the same rows lock them in the same order and never deadlock.
        foreach (var (_, row) in usage.OrderBy(u => u.Key.ToString(), StringComparer.Ordinal))
        {
            await connection.ExecuteAsync(UpsertUsage, new
            {
                row.Day, row.WorkspaceId, row.UserId, row.KeyId, row.Provider, row.Model,
                row.Requests, row.PromptTokens, row.CompletionTokens, row.CostUsd, row.Blocked, cancellationToken,
            }, transaction);
        }

        await transaction.CommitAsync(cancellationToken);
        return inserted.Count;
    }

    // SQLite: one prepared statement per batch, each record's values bound into it directly (text as UTF-16, numbers
    // as they are). Through Microsoft.Data.Sqlite's parameter objects every record cost ≈ 2.9 KB of boxes, UTF-8 copies
    // and a data reader; Dapper building 24 named parameters per record, before that, was most of a batch's time.
    private static List<AuditRecord> InsertEach(SqliteConnection connection, List<AuditRecord> batch)
    {
        var handle = connection.Handle!;
        Check(handle, raw.sqlite3_prepare_v2(handle, InsertRecord, out var insert));
        using (insert)
        {
            Span<int> at = stackalloc int[InsertParameters.Length];
            for (var i = 0; i < at.Length; i++)
            {
                at[i] = raw.sqlite3_bind_parameter_index(insert, "@" + InsertParameters[i]);
            }

            var inserted = new List<AuditRecord>(batch.Count);
            foreach (var r in batch)
            {
                Bind(handle, insert, at[0], r.Id);
                Check(handle, raw.sqlite3_bind_int64(insert, at[1], r.CreatedAt));
                Bind(handle, insert, at[2], r.Endpoint);
                Bind(handle, insert, at[3], r.UserId);
                Bind(handle, insert, at[4], r.KeyId);
                Bind(handle, insert, at[5], r.WorkspaceId);
                Bind(handle, insert, at[6], r.Workspace);
                Bind(handle, insert, at[7], r.RequestedModel);
                Bind(handle, insert, at[8], r.Provider);
                Bind(handle, insert, at[9], r.ServedModel);
                Check(handle, raw.sqlite3_bind_int(insert, at[10], r.Status));
                Bind(handle, insert, at[11], r.Outcome);
                Bind(handle, insert, at[12], r.ErrorCode);
                Bind(handle, insert, at[13], VerdictsColumn(r));
                Check(handle, raw.sqlite3_bind_int(insert, at[14], r.Stream ? 1 : 0));
                Check(handle, raw.sqlite3_bind_int(insert, at[15], r.Attempts));
                Bind(handle, insert, at[16], r.PromptTokens);
                Bind(handle, insert, at[17], r.CompletionTokens);
                Check(handle, raw.sqlite3_bind_int(insert, at[18], r.TokensEstimated ? 1 : 0));
                Bind(handle, insert, at[19], r.CostUsd);
                Check(handle, raw.sqlite3_bind_double(insert, at[20], r.LatencyMs));
                Bind(handle, insert, at[21], r.TtftMs);
                Bind(handle, insert, at[22], r.ClientIp);
                Bind(handle, insert, at[23], r.UserAgent);

                var result = raw.sqlite3_step(insert);
                if (result != raw.SQLITE_DONE)
                {
                    Check(handle, result);
                    throw new SqliteException($"The audit insert returned SQLite code {result} instead of finishing.", result);
                }

                if (raw.sqlite3_changes(handle) == 1)
                {
                    inserted.Add(r);
                }

                raw.sqlite3_reset(insert);
            }

            return inserted;
        }
    }

    private static void Bind(sqlite3 handle, sqlite3_stmt statement, int index, string? value) =>
        Check(handle, value is null ? raw.sqlite3_bind_null(statement, index) : raw.sqlite3_bind_text16(statement, index, value.AsSpan()));

    private static void Bind(sqlite3 handle, sqlite3_stmt statement, int index, long? value) =>
        Check(handle, value is { } number ? raw.sqlite3_bind_int64(statement, index, number) : raw.sqlite3_bind_null(statement, index));

    private static void Bind(sqlite3 handle, sqlite3_stmt statement, int index, double? value) =>
        Check(handle, value is { } number ? raw.sqlite3_bind_double(statement, index, number) : raw.sqlite3_bind_null(statement, index));

    /// <summary>Throws SQLite's own error for a failed call, as Microsoft.Data.Sqlite would: the batch is then spooled.</summary>
    private static void Check(sqlite3 handle, int result)
    {
        if (result is not (raw.SQLITE_OK or raw.SQLITE_DONE or raw.SQLITE_ROW))
        {
            throw new SqliteException(raw.sqlite3_errmsg(handle).utf8_to_string(), result, raw.sqlite3_extended_errcode(handle));
        }
    }

    private static readonly string[] InsertParameters =
    [
        "Id", "CreatedAt", "Endpoint", "UserId", "KeyId", "WorkspaceId", "Workspace", "RequestedModel", "Provider", "ServedModel",
        "Status", "Outcome", "ErrorCode", "Verdicts", "Stream", "Attempts", "PromptTokens", "CompletionTokens", "TokensEstimated", "CostUsd",
        "LatencyMs", "TtftMs", "ClientIp", "UserAgent",
    ];

    private static async Task<List<AuditRecord>> InsertBatchAsync(DbConnection connection, DbTransaction transaction, List<AuditRecord> batch, CancellationToken cancellationToken)
    {
        var parameters = new
        {
            Id = Column(batch, r => r.Id), CreatedAt = Column(batch, r => r.CreatedAt), Endpoint = Column(batch, r => r.Endpoint),
            UserId = Column(batch, r => r.UserId), KeyId = Column(batch, r => r.KeyId), WorkspaceId = Column(batch, r => r.WorkspaceId),
            Workspace = Column(batch, r => r.Workspace), RequestedModel = Column(batch, r => r.RequestedModel), Provider = Column(batch, r => r.Provider),
            ServedModel = Column(batch, r => r.ServedModel), Status = Column(batch, r => r.Status), Outcome = Column(batch, r => r.Outcome),
            ErrorCode = Column(batch, r => r.ErrorCode), Verdicts = Column(batch, VerdictsColumn), Stream = Column(batch, r => r.Stream ? 1 : 0),
            Attempts = Column(batch, r => r.Attempts), PromptTokens = Column(batch, r => r.PromptTokens), CompletionTokens = Column(batch, r => r.CompletionTokens),
            TokensEstimated = Column(batch, r => r.TokensEstimated ? 1 : 0), CostUsd = Column(batch, r => r.CostUsd), LatencyMs = Column(batch, r => r.LatencyMs),
            TtftMs = Column(batch, r => r.TtftMs), ClientIp = Column(batch, r => r.ClientIp), UserAgent = Column(batch, r => r.UserAgent),
            cancellationToken,
        };
        var ids = (await connection.QueryAsync<string>(InsertRecordsPostgres, parameters, transaction)).ToHashSet(StringComparer.Ordinal);
        // A record twice in one batch (spooled twice) is inserted once and counted once.
        return [.. batch.Where(r => ids.Remove(r.Id))];
    }

    /// <summary>The record with every text made storable; the record itself (no copy) when all of them already are, as nearly always.</summary>
    private static AuditRecord Storable(AuditRecord r) =>
        Same(r.Id) && Same(r.Endpoint) && Same(r.UserId) && Same(r.KeyId) && Same(r.WorkspaceId) && Same(r.Workspace) && Same(r.RequestedModel)
        && Same(r.Provider) && Same(r.ServedModel) && Same(r.Outcome) && Same(r.ErrorCode) && Same(r.ClientIp) && Same(r.UserAgent)
            ? r
            : Cleaned(r);

    private static bool Same(string? text) => ReferenceEquals(AuditText.Storable(text), text);

    private static AuditRecord Cleaned(AuditRecord r) => r with
    {
        Id = AuditText.Storable(r.Id)!, Endpoint = AuditText.Storable(r.Endpoint), UserId = AuditText.Storable(r.UserId), KeyId = AuditText.Storable(r.KeyId),
        WorkspaceId = AuditText.Storable(r.WorkspaceId), Workspace = AuditText.Storable(r.Workspace), RequestedModel = AuditText.Storable(r.RequestedModel),
        Provider = AuditText.Storable(r.Provider), ServedModel = AuditText.Storable(r.ServedModel), Outcome = AuditText.Storable(r.Outcome)!,
        ErrorCode = AuditText.Storable(r.ErrorCode), ClientIp = AuditText.Storable(r.ClientIp), UserAgent = AuditText.Storable(r.UserAgent),
    };

    private static T[] Column<T>(List<AuditRecord> batch, Func<AuditRecord, T> value) => [.. batch.Select(value)];

    private static string? VerdictsColumn(AuditRecord r) =>
        r.Verdicts.Count == 0 ? null : JsonSerializer.Serialize(r.Verdicts, AuditJson.Default.IReadOnlyListString);

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

    internal sealed class UsageRow
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
