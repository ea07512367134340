using System.Text.RegularExpressions;

namespace Rampart.Workspaces;

internal sealed record Workspace(string Id, string Name, long CreatedAt, WorkspacePolicy Policy);

internal sealed record Membership(string WorkspaceId, string UserId, string Role);

internal static class WorkspaceRoles
{
    public const string Admin = "admin";
    public const string Member = "member";

    public static bool IsValid(string role) => role is Admin or Member;
}

internal static partial class WorkspaceNames
{
    public const string Default = "default";

    /// <summary>Lower-case letters, digits, '.', '_' and '-', starting with a letter or digit: usable as an OpenAI model id, never containing '/'.</summary>
    public static bool IsValid(string name) => NamePattern().IsMatch(name);

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
