namespace Rampart.Data.Migrations;

/// <summary>
/// The audit log (one row per API request, keyed by its request id so a replay never duplicates) and the daily
/// usage roll-ups, updated in the same transaction as the audit rows they sum.
/// </summary>
internal static class M0003AuditLog
{
    public static readonly Migration Migration = new(3, "audit_log", _ =>
    [
        """
        CREATE TABLE audit_records (
            id TEXT PRIMARY KEY,
            created_at BIGINT NOT NULL,
            endpoint TEXT NULL,
            user_id TEXT NULL,
            key_id TEXT NULL,
            workspace_id TEXT NULL,
            workspace TEXT NULL,
            requested_model TEXT NULL,
            provider TEXT NULL,
            served_model TEXT NULL,
            status INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            error_code TEXT NULL,
            verdicts TEXT NULL,
            stream INTEGER NOT NULL,
            attempts INTEGER NOT NULL,
            prompt_tokens BIGINT NULL,
            completion_tokens BIGINT NULL,
            tokens_estimated INTEGER NOT NULL,
            cost_usd DOUBLE PRECISION NULL,
            latency_ms DOUBLE PRECISION NOT NULL,
            ttft_ms DOUBLE PRECISION NULL,
            client_ip TEXT NULL,
            user_agent TEXT NULL
        )
        """,
        "CREATE INDEX ix_audit_records_created ON audit_records (created_at)",
        "CREATE INDEX ix_audit_records_workspace ON audit_records (workspace_id, created_at)",
        "CREATE INDEX ix_audit_records_user ON audit_records (user_id, created_at)",
        "CREATE INDEX ix_audit_records_key ON audit_records (key_id, created_at)",
        // Key columns are '' rather than NULL when unknown (a 401 has no user): NULLs never conflict, so they would
        // defeat the upsert, and PostgreSQL does not allow them in a primary key.
        """
        CREATE TABLE usage_daily (
            day TEXT NOT NULL,
            workspace_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            key_id TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            requests BIGINT NOT NULL,
            prompt_tokens BIGINT NOT NULL,
            completion_tokens BIGINT NOT NULL,
            cost_usd DOUBLE PRECISION NOT NULL,
            blocked BIGINT NOT NULL,
            PRIMARY KEY (day, workspace_id, user_id, key_id, provider, model)
        )
        """,
        "CREATE INDEX ix_usage_daily_workspace ON usage_daily (workspace_id, day)",
    ]);
}
