namespace Rampart.Data.Migrations;

/// <summary>Users, workspaces, memberships, API keys, and the access-state version other instances poll.</summary>
internal static class M0001Initial
{
    public static readonly Migration Migration = new(1, "initial", _ =>
    [
        """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            password_hash TEXT NULL,
            org_role TEXT NOT NULL,
            default_workspace_id TEXT NULL,
            created_at BIGINT NOT NULL,
            disabled_at BIGINT NULL
        )
        """,
        """
        CREATE TABLE workspaces (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            policy TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE memberships (
            workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (workspace_id, user_id)
        )
        """,
        "CREATE INDEX ix_memberships_user ON memberships (user_id)",
        """
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            key_hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            last_used_at BIGINT NULL,
            request_count BIGINT NOT NULL DEFAULT 0,
            expires_at BIGINT NULL,
            revoked_at BIGINT NULL
        )
        """,
        "CREATE INDEX ix_api_keys_user ON api_keys (user_id)",
        // Bumped in the same transaction as every change to users, workspaces, memberships or keys;
        // each gateway process polls it to know when its in-memory access snapshot is stale.
        "CREATE TABLE access_state (id INTEGER PRIMARY KEY, version BIGINT NOT NULL)",
        "INSERT INTO access_state (id, version) VALUES (1, 0)",
    ]);
}
