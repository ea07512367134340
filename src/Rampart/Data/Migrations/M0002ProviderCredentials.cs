namespace Rampart.Data.Migrations;

/// <summary>Per-workspace provider credentials; the key is stored only in Data Protection's encrypted form.</summary>
internal static class M0002ProviderCredentials
{
    public static readonly Migration Migration = new(2, "provider_credentials", _ =>
    [
        """
        CREATE TABLE provider_credentials (
            workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
            provider TEXT NOT NULL,
            base_url TEXT NULL,
            api_key_protected TEXT NULL,
            key_hint TEXT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (workspace_id, provider)
        )
        """,
    ]);
}
