namespace Rampart.Data.Migrations;

/// <summary>
/// State that several gateway instances on one PostgreSQL share instead of each keeping its own: the volume-limit
/// counters (one row per counter and window bucket, deleted once the bucket has left its window), each workspace's spend
/// per month, and the dashboard's sign-in lock-out. SQLite gets the same tables: the lock-out uses them there too, the
/// limit tables stay empty (one process counts in memory).
/// </summary>
internal static class M0005SharedLimits
{
    public static readonly Migration Migration = new(5, "shared_limits", _ =>
    [
        """
        CREATE TABLE limit_buckets (
            counter TEXT NOT NULL,
            bucket BIGINT NOT NULL,
            amount BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            PRIMARY KEY (counter, bucket)
        )
        """,
        "CREATE INDEX ix_limit_buckets_expires_at ON limit_buckets (expires_at)",
        """
        CREATE TABLE limit_spend (
            workspace_id TEXT NOT NULL,
            month INTEGER NOT NULL,
            spent_usd NUMERIC NOT NULL,
            PRIMARY KEY (workspace_id, month)
        )
        """,
        """
        CREATE TABLE sign_in_failures (
            email TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            locked_until BIGINT NULL,
            updated_at BIGINT NOT NULL
        )
        """,
    ]);
}
