namespace Rampart.Data.Migrations;

/// <summary>
/// ASP.NET Core Data Protection's key ring, for gateways on PostgreSQL: every instance must decrypt the provider keys
/// (and dashboard cookies) another encrypted. On SQLite the key ring stays in files beside the database, and this table stays empty.
/// </summary>
internal static class M0004DataProtectionKeys
{
    public static readonly Migration Migration = new(4, "data_protection_keys", _ =>
    [
        """
        CREATE TABLE data_protection_keys (
            id TEXT PRIMARY KEY,
            friendly_name TEXT NULL,
            xml TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
    ]);
}
