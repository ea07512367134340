using Microsoft.AspNetCore.DataProtection;
using Rampart.Data;

namespace Rampart.Providers;

/// <summary>A workspace's own credential for one provider, as the snapshot holds it: the key still encrypted.</summary>
internal sealed record ProviderCredential(string WorkspaceId, string Provider, string? BaseUrl, string? ApiKeyProtected, string? KeyHint, long UpdatedAt);

/// <summary>
/// Encrypts provider keys for storage and decrypts them for use, with ASP.NET Core Data Protection (AES-256-CBC +
/// HMAC-SHA256, keys rotated every 90 days). On SQLite the key ring lives in <c>RAMPART_DATA_DIR/keys</c>, so whoever
/// holds the database file alone cannot read a provider key. On PostgreSQL it lives in the database
/// (<see cref="DbXmlRepository"/>), because every gateway instance must decrypt what another encrypted.
/// </summary>
internal sealed class CredentialProtector(IDataProtectionProvider provider)
{
    private readonly IDataProtector _protector = provider.CreateProtector("Rampart.ProviderCredentials.v1");

    public string Protect(string apiKey) => _protector.Protect(apiKey);

    public string Unprotect(string protectedKey) => _protector.Unprotect(protectedKey);

    /// <summary>What may be shown of a key once it is stored: its last four characters.</summary>
    public static string Hint(string apiKey) => apiKey.Length <= 8 ? "…" : "…" + apiKey[^4..];

    public static IDataProtectionBuilder Configure(IDataProtectionBuilder builder, Db db, string dataDir)
    {
        builder.SetApplicationName("Rampart");
        return db.Dialect == SqlDialect.Postgres
            ? builder.AddKeyManagementOptions(options => options.XmlRepository = new DbXmlRepository(db, TimeProvider.System))
            : builder.PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(dataDir, "keys")));
    }
}
