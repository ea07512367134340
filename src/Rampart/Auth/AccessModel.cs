namespace Rampart.Auth;

internal static class OrgRoles
{
    public const string Admin = "admin";
    public const string Member = "member";

    public static bool IsValid(string role) => role is Admin or Member;
}

internal sealed record User(
    string Id,
    string Email,
    string DisplayName,
    string OrgRole,
    string? DefaultWorkspaceId,
    long CreatedAt,
    long? DisabledAt)
{
    public bool IsOrgAdmin => OrgRole == OrgRoles.Admin;
}

internal sealed record ApiKeyRecord(
    string Id,
    string UserId,
    string Name,
    string KeyHash,
    string Prefix,
    long CreatedAt,
    long? LastUsedAt,
    long RequestCount,
    long? ExpiresAt,
    long? RevokedAt);

/// <summary>Who is calling: the authenticated user and the key they used (the master key has no stored key).</summary>
internal sealed record Caller(User User, string KeyId)
{
    public const string MasterKeyId = "master";
    public const string MasterUserId = "usr_master";

    public bool IsMaster => KeyId == MasterKeyId;

    public static readonly User MasterUser = new(MasterUserId, "master-key@rampart", "Master key", OrgRoles.Admin, null, 0, null);
}
