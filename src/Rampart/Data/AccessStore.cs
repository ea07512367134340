using System.Data;
using System.Data.Common;
using System.Text.Json;
using Dapper;
using Rampart.Auth;
using Rampart.OpenAI;
using Rampart.Providers;
using Rampart.Workspaces;

namespace Rampart.Data;

/// <summary>A change the caller asked for that the data does not allow (duplicate name, unknown id); the message is for people.</summary>
internal sealed class AccessConflictException(string message) : Exception(message);

/// <summary>
/// Everything that decides who may call what: users, workspaces, memberships and API keys.
/// Every write bumps <c>access_state.version</c> in the same transaction and then tells this process's
/// <see cref="AccessChangeSignal"/>, so the in-memory snapshot changes at once here. Other processes (the CLI, other
/// gateway instances) see it on PostgreSQL through <c>NOTIFY</c> (<see cref="AccessChangeListener"/>), and on either
/// engine within a poll interval.
/// </summary>
internal sealed class AccessStore(Db db, AccessChangeSignal signal, TimeProvider time)
{
    private const string UserColumns =
        "id AS Id, email AS Email, display_name AS DisplayName, org_role AS OrgRole, default_workspace_id AS DefaultWorkspaceId, created_at AS CreatedAt, disabled_at AS DisabledAt";

    private const string KeyColumns =
        "id AS Id, user_id AS UserId, name AS Name, key_hash AS KeyHash, prefix AS Prefix, created_at AS CreatedAt, last_used_at AS LastUsedAt, request_count AS RequestCount, expires_at AS ExpiresAt, revoked_at AS RevokedAt";

    private const string CredentialColumns =
        "workspace_id AS WorkspaceId, provider AS Provider, base_url AS BaseUrl, api_key_protected AS ApiKeyProtected, key_hint AS KeyHint, updated_at AS UpdatedAt";

    public Db Db => db;

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task<AccessSnapshot> LoadSnapshotAsync(CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        // One consistent view of every table: PostgreSQL's default (read committed) would let a change land between two
        // SELECTs. SQLite promotes the level to serializable, which a read transaction already is there.
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        var version = await connection.ExecuteScalarAsync<long>("SELECT version FROM access_state WHERE id = 1", transaction: transaction);
        var users = await connection.QueryAsync<User>($"SELECT {UserColumns} FROM users", transaction: transaction);
        var workspaces = await connection.QueryAsync<WorkspaceRow>(
            "SELECT id AS Id, name AS Name, created_at AS CreatedAt, policy AS Policy FROM workspaces", transaction: transaction);
        var memberships = await connection.QueryAsync<Membership>(
            "SELECT workspace_id AS WorkspaceId, user_id AS UserId, role AS Role FROM memberships", transaction: transaction);
        var keys = await connection.QueryAsync<ApiKeyRecord>($"SELECT {KeyColumns} FROM api_keys", transaction: transaction);
        var credentials = await connection.QueryAsync<ProviderCredential>($"SELECT {CredentialColumns} FROM provider_credentials", transaction: transaction);
        await transaction.CommitAsync(cancellationToken);
        return new AccessSnapshot(version, users, workspaces.Select(w => w.ToWorkspace()), memberships, keys, credentials);
    }

    public async Task<long> GetVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>("SELECT version FROM access_state WHERE id = 1");
    }

    // ---- users ----

    public Task<User> CreateUserAsync(string email, string displayName, string? passwordHash, string orgRole, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) => await InsertUserAsync(connection, transaction, email, displayName, passwordHash, orgRole), cancellationToken);

    public async Task<IReadOnlyList<User>> ListUsersAsync(CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        return [.. await connection.QueryAsync<User>($"SELECT {UserColumns} FROM users ORDER BY email")];
    }

    public async Task<User?> FindUserAsync(string idOrEmail, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<User>(
            $"SELECT {UserColumns} FROM users WHERE id = @Key OR email = @Email", new { Key = idOrEmail, Email = NormalizeEmail(idOrEmail) });
    }

    public Task SetUserDisabledAsync(string userId, bool disabled, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            var changed = await connection.ExecuteAsync(
                "UPDATE users SET disabled_at = @At WHERE id = @UserId", new { UserId = userId, At = disabled ? Now : (long?)null }, transaction);
            return changed == 1 ? true : throw new AccessConflictException($"No user with id '{userId}'.");
        }, cancellationToken);

    /// <summary>Changes a user's display name and/or org role; null leaves a field as it is.</summary>
    public Task<User> UpdateUserAsync(string userId, string? displayName, string? orgRole, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            if (orgRole is not null && !OrgRoles.IsValid(orgRole))
            {
                throw new AccessConflictException($"Unknown org role '{orgRole}': use '{OrgRoles.Admin}' or '{OrgRoles.Member}'.");
            }

            if (displayName is not null && (displayName.Trim().Length is 0 or > 200))
            {
                throw new AccessConflictException("A name needs 1 to 200 characters.");
            }

            return await connection.QuerySingleOrDefaultAsync<User>(
                $"UPDATE users SET display_name = COALESCE(@Name, display_name), org_role = COALESCE(@Role, org_role) WHERE id = @UserId RETURNING {UserColumns}",
                new { UserId = userId, Name = displayName?.Trim(), Role = orgRole }, transaction)
                ?? throw new AccessConflictException($"No user with id '{userId}'.");
        }, cancellationToken);

    // ---- workspaces and members ----

    public Task<Workspace> CreateWorkspaceAsync(string name, WorkspacePolicy policy, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) => InsertWorkspaceAsync(connection, transaction, name, policy), cancellationToken);

    public Task<Workspace> UpdateWorkspacePolicyAsync(string workspaceId, WorkspacePolicy policy, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            if (policy.Validate() is { } problem)
            {
                throw new AccessConflictException($"Invalid workspace policy: {problem}.");
            }

            var row = await connection.QuerySingleOrDefaultAsync<WorkspaceRow>(
                "UPDATE workspaces SET policy = @Policy, updated_at = @Now WHERE id = @Id RETURNING id AS Id, name AS Name, created_at AS CreatedAt, policy AS Policy",
                new { Id = workspaceId, Policy = PolicyJson(policy), Now }, transaction);
            return row?.ToWorkspace() ?? throw new AccessConflictException($"No workspace with id '{workspaceId}'.");
        }, cancellationToken);

    public Task DeleteWorkspaceAsync(string workspaceId, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            var deleted = await connection.ExecuteAsync("DELETE FROM workspaces WHERE id = @Id", new { Id = workspaceId }, transaction);
            return deleted == 1 ? true : throw new AccessConflictException($"No workspace with id '{workspaceId}'.");
        }, cancellationToken);

    public Task AddMemberAsync(string workspaceId, string userId, string role, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) => UpsertMemberAsync(connection, transaction, workspaceId, userId, role), cancellationToken);

    public Task RemoveMemberAsync(string workspaceId, string userId, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            var removed = await connection.ExecuteAsync(
                "DELETE FROM memberships WHERE workspace_id = @WorkspaceId AND user_id = @UserId", new { WorkspaceId = workspaceId, UserId = userId }, transaction);
            return removed == 1 ? true : throw new AccessConflictException("That user is not a member of that workspace.");
        }, cancellationToken);

    // ---- provider credentials ----

    /// <summary>Sets a workspace's own credential for a provider. <paramref name="apiKeyProtected"/> is already encrypted.</summary>
    public Task SetProviderCredentialAsync(string workspaceId, string provider, string? baseUrl, string? apiKeyProtected, string? keyHint, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            if (baseUrl is not null && !(Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            {
                throw new AccessConflictException($"'{baseUrl}' is not an http(s) URL.");
            }

            if (Search.SearchBackendNames.CredentialProblem(provider, baseUrl is not null, apiKeyProtected is not null) is { } searchProblem)
            {
                throw new AccessConflictException(searchProblem);
            }

            if (baseUrl is null && apiKeyProtected is null)
            {
                throw new AccessConflictException("Give an API key, a base URL, or both.");
            }

            await RequireExistsAsync(connection, transaction, "workspaces", workspaceId, "workspace");
            await connection.ExecuteAsync(
                """
                INSERT INTO provider_credentials (workspace_id, provider, base_url, api_key_protected, key_hint, updated_at)
                VALUES (@WorkspaceId, @Provider, @BaseUrl, @ApiKeyProtected, @KeyHint, @Now)
                ON CONFLICT (workspace_id, provider) DO UPDATE SET base_url = excluded.base_url, api_key_protected = excluded.api_key_protected,
                    key_hint = excluded.key_hint, updated_at = excluded.updated_at
                """,
                new { WorkspaceId = workspaceId, Provider = provider, BaseUrl = baseUrl, ApiKeyProtected = apiKeyProtected, KeyHint = keyHint, Now }, transaction);
            return true;
        }, cancellationToken);

    public Task RemoveProviderCredentialAsync(string workspaceId, string provider, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            var removed = await connection.ExecuteAsync(
                "DELETE FROM provider_credentials WHERE workspace_id = @WorkspaceId AND provider = @Provider", new { WorkspaceId = workspaceId, Provider = provider }, transaction);
            return removed == 1 ? true : throw new AccessConflictException($"That workspace has no credential for '{provider}'.");
        }, cancellationToken);

    // ---- API keys ----

    /// <summary>Creates a key; the returned plaintext exists only in this return value.</summary>
    public Task<(ApiKeyRecord Record, string Key)> CreateKeyAsync(string userId, string name, DateTimeOffset? expiresAt, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) => InsertKeyAsync(connection, transaction, userId, name, expiresAt), cancellationToken);

    public async Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(string? userId, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        return [.. await connection.QueryAsync<ApiKeyRecord>(
            $"SELECT {KeyColumns} FROM api_keys WHERE (@UserId IS NULL OR user_id = @UserId) ORDER BY created_at, id", new { UserId = userId })];
    }

    public Task RevokeKeyAsync(string keyId, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction) =>
        {
            var revoked = await connection.ExecuteAsync(
                "UPDATE api_keys SET revoked_at = @Now WHERE id = @Id AND revoked_at IS NULL", new { Id = keyId, Now }, transaction);
            return revoked == 1 ? true : throw new AccessConflictException($"No active key with id '{keyId}'.");
        }, cancellationToken);

    /// <summary>Adds request counts and last-use times gathered off the request path; not an access change, so no version bump.</summary>
    public async Task AddKeyUsageAsync(IEnumerable<(string KeyId, long Count, long LastUsedAt)> usage, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // In key order, so two instances adding to the same keys take the row locks in the same order and never deadlock.
        foreach (var (keyId, count, lastUsedAt) in usage.OrderBy(u => u.KeyId, StringComparer.Ordinal))
        {
            await connection.ExecuteAsync(
                """
                UPDATE api_keys SET request_count = request_count + @Count,
                    last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < @LastUsedAt THEN @LastUsedAt ELSE last_used_at END
                WHERE id = @KeyId
                """,
                new { KeyId = keyId, Count = count, LastUsedAt = lastUsedAt }, transaction);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    // ---- first start ----

    /// <summary>
    /// On an empty database: the first org admin, the <c>default</c> workspace with that admin as a member, and one key.
    /// Returns null when users already exist, so this is safe to call on every start.
    /// </summary>
    public Task<FirstStartResult?> BootstrapAsync(string adminEmail, string password, int passwordIterations, WorkspacePolicy defaultPolicy, CancellationToken cancellationToken) =>
        WriteAsync<FirstStartResult?>(async (connection, transaction) =>
        {
            if (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM users", transaction: transaction) > 0)
            {
                return null;
            }

            var admin = await InsertUserAsync(connection, transaction, adminEmail, "Administrator", PasswordHasher.Hash(password, passwordIterations), OrgRoles.Admin);
            var workspace = await connection.QuerySingleOrDefaultAsync<WorkspaceRow>(
                "SELECT id AS Id, name AS Name, created_at AS CreatedAt, policy AS Policy FROM workspaces WHERE name = @Name",
                new { Name = WorkspaceNames.Default }, transaction) is { } existing
                ? existing.ToWorkspace()
                : await InsertWorkspaceAsync(connection, transaction, WorkspaceNames.Default, defaultPolicy);
            await UpsertMemberAsync(connection, transaction, workspace.Id, admin.Id, WorkspaceRoles.Admin);
            var (_, key) = await InsertKeyAsync(connection, transaction, admin.Id, "first-start key", null);
            return new FirstStartResult(admin, password, workspace, key);
        }, cancellationToken);

    // ---- plumbing ----

    private async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> write, CancellationToken cancellationToken)
    {
        T result;
        await using (var connection = await db.OpenAsync(cancellationToken))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // The bump comes first: it takes the write lock (SQLite) or locks the one access_state row (PostgreSQL), so
            // writes from every process run one at a time and each one's checks ("is that email taken?") stay true until it commits.
            await connection.ExecuteAsync("UPDATE access_state SET version = version + 1 WHERE id = 1", transaction: transaction);
            result = await write(connection, transaction);
            if (db.Dialect == SqlDialect.Postgres)
            {
                // Delivered at commit (and never if the change rolls back): every instance's listener refreshes at once.
                await connection.ExecuteAsync($"NOTIFY {AccessChangeListener.Channel}", transaction: transaction);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        await signal.RaiseAsync(cancellationToken);
        return result;
    }

    private async Task<User> InsertUserAsync(DbConnection connection, DbTransaction transaction, string email, string displayName, string? passwordHash, string orgRole)
    {
        email = NormalizeEmail(email);
        if (!email.Contains('@', StringComparison.Ordinal) || email.Length > 320)
        {
            throw new AccessConflictException($"'{email}' is not an email address.");
        }

        if (!OrgRoles.IsValid(orgRole))
        {
            throw new AccessConflictException($"Unknown org role '{orgRole}': use '{OrgRoles.Admin}' or '{OrgRoles.Member}'.");
        }

        if (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM users WHERE email = @Email", new { Email = email }, transaction) > 0)
        {
            throw new AccessConflictException($"A user with email '{email}' already exists.");
        }

        var user = new User(Ids.New("usr"), email, string.IsNullOrWhiteSpace(displayName) ? email : displayName.Trim(), orgRole, null, Now, null);
        await connection.ExecuteAsync(
            "INSERT INTO users (id, email, display_name, password_hash, org_role, created_at) VALUES (@Id, @Email, @DisplayName, @PasswordHash, @OrgRole, @CreatedAt)",
            new { user.Id, user.Email, user.DisplayName, PasswordHash = passwordHash, user.OrgRole, user.CreatedAt }, transaction);
        return user;
    }

    private async Task<Workspace> InsertWorkspaceAsync(DbConnection connection, DbTransaction transaction, string name, WorkspacePolicy policy)
    {
        if (!WorkspaceNames.IsValid(name))
        {
            throw new AccessConflictException(
                $"'{name}' is not a valid workspace name: use 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.");
        }

        if (policy.Validate() is { } problem)
        {
            throw new AccessConflictException($"Invalid workspace policy: {problem}.");
        }

        if (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM workspaces WHERE name = @Name", new { Name = name }, transaction) > 0)
        {
            throw new AccessConflictException($"A workspace named '{name}' already exists.");
        }

        var workspace = new Workspace(Ids.New("ws"), name, Now, policy);
        await connection.ExecuteAsync(
            "INSERT INTO workspaces (id, name, created_at, updated_at, policy) VALUES (@Id, @Name, @CreatedAt, @CreatedAt, @Policy)",
            new { workspace.Id, workspace.Name, workspace.CreatedAt, Policy = PolicyJson(policy) }, transaction);
        return workspace;
    }

    private async Task<bool> UpsertMemberAsync(DbConnection connection, DbTransaction transaction, string workspaceId, string userId, string role)
    {
        if (!WorkspaceRoles.IsValid(role))
        {
            throw new AccessConflictException($"Unknown workspace role '{role}': use '{WorkspaceRoles.Admin}' or '{WorkspaceRoles.Member}'.");
        }

        await RequireExistsAsync(connection, transaction, "workspaces", workspaceId, "workspace");
        await RequireExistsAsync(connection, transaction, "users", userId, "user");
        await connection.ExecuteAsync(
            """
            INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES (@WorkspaceId, @UserId, @Role, @Now)
            ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role
            """,
            new { WorkspaceId = workspaceId, UserId = userId, Role = role, Now }, transaction);
        return true;
    }

    private async Task<(ApiKeyRecord, string)> InsertKeyAsync(DbConnection connection, DbTransaction transaction, string userId, string name, DateTimeOffset? expiresAt)
    {
        name = name.Trim();
        if (name.Length is 0 or > 100)
        {
            throw new AccessConflictException("A key needs a name of 1 to 100 characters.");
        }

        await RequireExistsAsync(connection, transaction, "users", userId, "user");
        var generated = ApiKeys.Generate();
        var record = new ApiKeyRecord(Ids.New("key"), userId, name, generated.Hash, generated.Prefix, Now, null, 0, expiresAt?.ToUnixTimeMilliseconds(), null);
        await connection.ExecuteAsync(
            "INSERT INTO api_keys (id, user_id, name, key_hash, prefix, created_at, expires_at) VALUES (@Id, @UserId, @Name, @KeyHash, @Prefix, @CreatedAt, @ExpiresAt)",
            record, transaction);
        return (record, generated.Key);
    }

    private static async Task RequireExistsAsync(DbConnection connection, DbTransaction transaction, string table, string id, string what)
    {
        if (await connection.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM {table} WHERE id = @Id", new { Id = id }, transaction) == 0)
        {
            throw new AccessConflictException($"No {what} with id '{id}'.");
        }
    }

    private static string NormalizeEmail(string email) => email.Trim().ToLowerInvariant();

    /// <summary>A policy as stored. A method, not inline in the parameters: Dapper.AOT cannot type a value made by the JSON source generator (Data/DapperAot.cs).</summary>
    private static string PolicyJson(WorkspacePolicy policy) => JsonSerializer.Serialize(policy, OpenAIJson.Wire.WorkspacePolicy);

    internal sealed record WorkspaceRow(string Id, string Name, long CreatedAt, string Policy)
    {
        public Workspace ToWorkspace() =>
            new(Id, Name, CreatedAt, JsonSerializer.Deserialize(Policy, OpenAIJson.Wire.WorkspacePolicy) ?? new WorkspacePolicy());
    }
}

internal sealed record FirstStartResult(User Admin, string Password, Workspace Workspace, string ApiKey);

/// <summary>Lets this process's access cache refresh as soon as the store commits a change.</summary>
internal sealed class AccessChangeSignal
{
    public Func<CancellationToken, Task>? OnChanged { get; set; }

    public Task RaiseAsync(CancellationToken cancellationToken) => OnChanged?.Invoke(cancellationToken) ?? Task.CompletedTask;
}
