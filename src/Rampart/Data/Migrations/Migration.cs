namespace Rampart.Data.Migrations;

/// <summary>
/// One versioned schema step. Statements are plain SQL in the dialect subset both engines accept;
/// where they differ, the step returns per-dialect text. Steps are append-only: never edit a shipped one.
/// </summary>
internal sealed record Migration(int Version, string Name, Func<SqlDialect, IReadOnlyList<string>> Statements);

internal static class Migrations
{
    public static readonly IReadOnlyList<Migration> All =
    [
        M0001Initial.Migration,
        M0002ProviderCredentials.Migration,
        M0003AuditLog.Migration,
        M0004DataProtectionKeys.Migration,
        M0005SharedLimits.Migration,
        M0006SignInFailuresSweep.Migration,
    ];
}
