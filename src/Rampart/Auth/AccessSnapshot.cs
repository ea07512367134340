using System.Collections.Frozen;
using Rampart.Providers;
using Rampart.Workspaces;

namespace Rampart.Auth;

/// <summary>
/// An immutable picture of users, workspaces, memberships and keys. Requests read it without any database
/// round trip; a change builds a new snapshot and swaps it in whole.
/// </summary>
internal sealed class AccessSnapshot
{
    private readonly FrozenDictionary<string, ApiKeyRecord> _keysByHash;
    private readonly FrozenDictionary<string, User> _usersById;
    private readonly FrozenDictionary<string, Workspace> _workspacesByName;
    private readonly FrozenDictionary<string, Workspace> _workspacesById;
    private readonly FrozenDictionary<string, FrozenDictionary<string, string>> _rolesByUser;
    private readonly IReadOnlyList<Workspace> _allWorkspaces;

    private readonly FrozenDictionary<(string WorkspaceId, string Provider), ProviderCredential> _credentials;

    public AccessSnapshot(
        long version, IEnumerable<User> users, IEnumerable<Workspace> workspaces, IEnumerable<Membership> memberships, IEnumerable<ApiKeyRecord> keys,
        IEnumerable<ProviderCredential>? credentials = null)
    {
        _credentials = (credentials ?? []).ToFrozenDictionary(c => (c.WorkspaceId, c.Provider));
        Version = version;
        _usersById = users.ToFrozenDictionary(u => u.Id, StringComparer.Ordinal);
        _allWorkspaces = [.. workspaces.OrderBy(w => w.Name, StringComparer.Ordinal)];
        _workspacesByName = _allWorkspaces.ToFrozenDictionary(w => w.Name, StringComparer.OrdinalIgnoreCase);
        _workspacesById = _allWorkspaces.ToFrozenDictionary(w => w.Id, StringComparer.Ordinal);
        _rolesByUser = memberships
            .GroupBy(m => m.UserId, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.ToFrozenDictionary(m => m.WorkspaceId, m => m.Role, StringComparer.Ordinal), StringComparer.Ordinal);
        _keysByHash = keys.ToFrozenDictionary(k => k.KeyHash, StringComparer.Ordinal);
    }

    public static AccessSnapshot Empty { get; } = new(-1, [], [], [], []);

    /// <summary>The workspace's own credential for a provider, if it has one (the key still encrypted).</summary>
    public ProviderCredential? CredentialFor(string workspaceId, string provider) => _credentials.GetValueOrDefault((workspaceId, provider));

    public IEnumerable<ProviderCredential> CredentialsOf(string workspaceId) => _credentials.Values.Where(c => c.WorkspaceId == workspaceId);

    public long Version { get; }

    public ApiKeyRecord? FindKey(string keyHash) =>
        _keysByHash.TryGetValue(keyHash, out var key) && ApiKeys.HashesEqual(key.KeyHash, keyHash) ? key : null;

    public User? FindUser(string userId) => _usersById.GetValueOrDefault(userId);

    public Workspace? FindWorkspace(string name) => _workspacesByName.GetValueOrDefault(name);

    public Workspace? FindWorkspaceById(string id) => _workspacesById.GetValueOrDefault(id);

    /// <summary>The caller's role in a workspace, or null when not a member. Org admins act as admins of every workspace.</summary>
    public string? RoleIn(User user, Workspace workspace)
    {
        if (_rolesByUser.TryGetValue(user.Id, out var roles) && roles.TryGetValue(workspace.Id, out var role))
        {
            return user.IsOrgAdmin ? WorkspaceRoles.Admin : role;
        }

        return user.IsOrgAdmin ? WorkspaceRoles.Admin : null;
    }

    /// <summary>The workspace's members and their own roles (not the implied admin role of org admins), ordered by email.</summary>
    public IEnumerable<(User User, string Role)> MembersOf(Workspace workspace) =>
        _rolesByUser
            .Where(r => r.Value.ContainsKey(workspace.Id) && _usersById.ContainsKey(r.Key))
            .Select(r => (_usersById[r.Key], r.Value[workspace.Id]))
            .OrderBy(m => m.Item1.Email, StringComparer.Ordinal);

    /// <summary>Workspaces the user may call, ordered by name.</summary>
    public IEnumerable<Workspace> WorkspacesOf(User user) =>
        user.IsOrgAdmin ? _allWorkspaces : _allWorkspaces.Where(w => RoleIn(user, w) is not null);
}
