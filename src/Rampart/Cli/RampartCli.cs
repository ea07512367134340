using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Auth;
using Rampart.Data;
using Rampart.OpenAI;
using Rampart.Routing;
using Rampart.Workspaces;

namespace Rampart.Cli;

/// <summary>
/// The operator's command line on the gateway's own executable: users, workspaces, members and keys,
/// straight against the gateway's database (<c>RAMPART_POSTGRES</c>, or SQLite in <c>RAMPART_DATA_DIR</c>). A running gateway sees the changes within a second.
/// </summary>
internal static class RampartCli
{
    private static readonly string[] Commands = ["users", "workspaces", "members", "keys", "credentials", "migrate", "healthcheck", "--help", "-h", "-?"];

    public static bool IsCommand(string[] args) => args.Length > 0 && Commands.Contains(args[0]);

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, IConfiguration? configuration = null)
    {
        configuration ??= new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var context = new Lazy<Task<AccessStore>>(() => OpenStoreAsync(configuration));
        var root = new RootCommand("Rampart secure AI gateway. Run with no command to start the gateway; the commands below manage its data.")
        {
            UsersCommand(context, output, configuration),
            WorkspacesCommand(context, output),
            MembersCommand(context, output),
            KeysCommand(context, output),
            CredentialsCommand(context, output, configuration),
            Action("migrate", "Apply pending database migrations and exit.", async (_, store, _) =>
            {
                output.WriteLine($"Database is up to date: {store.Db.Description}");
                return 0;
            }, context),
            HealthcheckCommand(output),
        };
        try
        {
            return await InvokeAsync(root, args, output, error);
        }
        finally
        {
            if (context.IsValueCreated && context.Value.IsCompletedSuccessfully)
            {
                // Closes PostgreSQL's pooled connections now rather than when the process ends.
                await context.Value.Result.Db.DisposeAsync();
            }
        }
    }

    private static async Task<int> InvokeAsync(RootCommand root, string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            return await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        }
        catch (AccessConflictException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}");
            return 1;
        }
    }

    /// <summary>For a container's HEALTHCHECK: the runtime image has no curl, but it has this executable.</summary>
    private static Command HealthcheckCommand(TextWriter output)
    {
        var url = new Option<string>("--url") { Description = "The liveness URL to probe.", DefaultValueFactory = _ => "http://127.0.0.1:8080/healthz" };
        var command = new Command("healthcheck", "Probe a running gateway's /healthz; exit 0 when it answers 200 within 5 seconds.") { url };
        command.SetAction(async (parse, ct) =>
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            try
            {
                using var response = await http.GetAsync(parse.GetValue(url), ct);
                output.WriteLine($"{(int)response.StatusCode} {response.ReasonPhrase}");
                return response.IsSuccessStatusCode ? 0 : 1;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                output.WriteLine($"unreachable: {ex.Message}");
                return 1;
            }
        });
        return command;
    }

    private static Command UsersCommand(Lazy<Task<AccessStore>> context, TextWriter output, IConfiguration configuration)
    {
        var email = new Option<string>("--email") { Description = "The user's email address (their sign-in name).", Required = true };
        var name = new Option<string?>("--name") { Description = "Display name." };
        var role = new Option<string>("--role") { Description = "Org role: member or admin.", DefaultValueFactory = _ => OrgRoles.Member };
        var password = new Option<string?>("--password") { Description = "Dashboard password; generated and shown once when omitted." };
        var user = UserOption();

        return new Command("users", "Manage users.")
        {
            Action("create", "Create a user.", async (parse, store, ct) =>
            {
                var chosen = parse.GetValue(password);
                var plain = string.IsNullOrEmpty(chosen) ? Ids.RandomBase62(20) : chosen;
                var iterations = configuration.GetValue("Rampart:PasswordIterations", PasswordHasher.DefaultIterations);
                var created = await store.CreateUserAsync(parse.GetRequiredValue(email), parse.GetValue(name) ?? "", PasswordHasher.Hash(plain, iterations), parse.GetRequiredValue(role), ct);
                output.WriteLine($"Created user {created.Id} <{created.Email}> ({created.OrgRole}).");
                if (string.IsNullOrEmpty(chosen))
                {
                    output.WriteLine($"Password (shown once): {plain}");
                }

                return 0;
            }, context, email, name, role, password),
            Action("list", "List users.", async (_, store, ct) =>
            {
                var users = await store.ListUsersAsync(ct);
                Table(output, ["ID", "EMAIL", "NAME", "ROLE", "STATUS"],
                    users.Select(u => new[] { u.Id, u.Email, u.DisplayName, u.OrgRole, u.DisabledAt is null ? "active" : "disabled" }));
                return 0;
            }, context),
            Action("disable", "Disable a user: their keys stop working at once.", async (parse, store, ct) =>
            {
                var found = await RequireUserAsync(store, parse.GetRequiredValue(user), ct);
                await store.SetUserDisabledAsync(found.Id, disabled: true, ct);
                output.WriteLine($"Disabled {found.Email}.");
                return 0;
            }, context, user),
            Action("enable", "Enable a disabled user.", async (parse, store, ct) =>
            {
                var found = await RequireUserAsync(store, parse.GetRequiredValue(user), ct);
                await store.SetUserDisabledAsync(found.Id, disabled: false, ct);
                output.WriteLine($"Enabled {found.Email}.");
                return 0;
            }, context, user),
        };
    }

    private static Command WorkspacesCommand(Lazy<Task<AccessStore>> context, TextWriter output)
    {
        var name = new Option<string>("--name") { Description = "Workspace name; callers use it as the model id.", Required = true };
        var provider = new Option<string>("--provider") { Description = "Provider: openai, xai, deepseek, anthropic, or local (offline demo).", DefaultValueFactory = _ => "openai" };
        var model = new Option<string>("--model") { Description = "The provider's model id.", DefaultValueFactory = _ => "gpt-4o-mini" };
        var persona = new Option<string?>("--persona") { Description = "Default system prompt (a caller's own system prompt replaces it)." };
        var pii = new Option<string>("--pii") { Description = "Minimum PII mode: disabled, obfuscate or block.", DefaultValueFactory = _ => "disabled" };
        var secrets = new Option<string>("--secrets") { Description = "What a secret in a request does: block or redact.", DefaultValueFactory = _ => "block" };
        var restore = new Option<string>("--pii-restore") { Description = "Put obfuscated PII back into answers: never, always or on_request.", DefaultValueFactory = _ => "never" };
        var scanOutput = new Option<bool>("--scan-output") { Description = "Also scan the model's answers and redact secrets and PII in them (logprobs are then refused)." };
        var fallbacks = new Option<string[]>("--fallback") { Description = "A provider/model to fall back to, in order (repeatable).", AllowMultipleArgumentsPerToken = false };
        var retries = new Option<int?>("--retries") { Description = "Retries per target for retryable failures (default 2)." };
        var timeout = new Option<double?>("--timeout-seconds") { Description = "Time for the provider to answer (default: gateway setting)." };
        var noWebSearch = new Option<bool>("--no-web-search") { Description = "Never offer the web-search tool in this workspace." };
        var noDirect = new Option<bool>("--no-direct-models") { Description = "Members with this as default workspace may not call provider/model ids directly." };
        var file = new Option<string>("--file") { Description = "A JSON file holding the whole workspace policy.", Required = true };

        return new Command("workspaces", "Manage workspaces (models).")
        {
            Action("create", "Create a workspace.", async (parse, store, ct) =>
            {
                var policy = new WorkspacePolicy
                {
                    Provider = parse.GetRequiredValue(provider),
                    Model = parse.GetRequiredValue(model),
                    Persona = parse.GetValue(persona) ?? WorkspacePolicy.DefaultPersona,
                    Pii = parse.GetRequiredValue(pii),
                    Secrets = parse.GetRequiredValue(secrets),
                    PiiRestore = parse.GetRequiredValue(restore),
                    ScanOutput = parse.GetValue(scanOutput),
                    Routing = new RoutingPolicy { Fallbacks = parse.GetValue(fallbacks) ?? [], Retries = parse.GetValue(retries), TimeoutSeconds = parse.GetValue(timeout) },
                    WebSearch = !parse.GetValue(noWebSearch),
                    AllowDirectModels = !parse.GetValue(noDirect),
                };
                var created = await store.CreateWorkspaceAsync(parse.GetRequiredValue(name), policy, ct);
                output.WriteLine($"Created workspace {created.Name} ({created.Id}) → {policy.Provider}/{policy.Model}.");
                return 0;
            }, context, name, provider, model, persona, pii, secrets, restore, scanOutput, fallbacks, retries, timeout, noWebSearch, noDirect),
            Action("list", "List workspaces.", async (_, store, ct) =>
            {
                var snapshot = await store.LoadSnapshotAsync(ct);
                var workspaces = snapshot.WorkspacesOf(Caller.MasterUser);
                Table(output, ["ID", "NAME", "PROVIDER/MODEL", "PII", "CREATED"],
                    workspaces.Select(w => new[] { w.Id, w.Name, $"{w.Policy.Provider}/{w.Policy.Model}", w.Policy.Pii, Time(w.CreatedAt) }));
                return 0;
            }, context),
            Action("set-policy", "Replace a workspace's whole policy with a JSON document (validated; see README, Firewall rules).", async (parse, store, ct) =>
            {
                var workspace = await RequireWorkspaceAsync(store, parse.GetRequiredValue(name), ct);
                var path = parse.GetRequiredValue(file);
                WorkspacePolicy policy;
                try
                {
                    await using var stream = File.OpenRead(path);
                    policy = await JsonSerializer.DeserializeAsync(stream, OpenAIJson.StrictPolicy.WorkspacePolicy, ct)
                        ?? throw new AccessConflictException($"{path} holds no policy.");
                }
                catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
                {
                    throw new AccessConflictException($"Cannot read the policy in {path}: {ex.Message}");
                }

                await store.UpdateWorkspacePolicyAsync(workspace.Id, policy, ct);
                output.WriteLine($"Policy of workspace {workspace.Name} replaced from {path}.");
                return 0;
            }, context, name, file),
            Action("show-policy", "Print a workspace's policy as JSON (a starting point for set-policy).", async (parse, store, ct) =>
            {
                var workspace = await RequireWorkspaceAsync(store, parse.GetRequiredValue(name), ct);
                output.WriteLine(JsonSerializer.Serialize(workspace.Policy, OpenAIJson.IndentedPolicy.WorkspacePolicy));
                return 0;
            }, context, name),
            Action("delete", "Delete a workspace and its memberships.", async (parse, store, ct) =>
            {
                var workspace = await RequireWorkspaceAsync(store, parse.GetRequiredValue(name), ct);
                await store.DeleteWorkspaceAsync(workspace.Id, ct);
                output.WriteLine($"Deleted workspace {workspace.Name}.");
                return 0;
            }, context, name),
        };
    }

    private static Command MembersCommand(Lazy<Task<AccessStore>> context, TextWriter output)
    {
        var workspace = new Option<string>("--workspace") { Description = "Workspace name.", Required = true };
        var user = UserOption();
        var role = new Option<string>("--role") { Description = "Workspace role: member or admin.", DefaultValueFactory = _ => WorkspaceRoles.Member };

        return new Command("members", "Manage workspace members.")
        {
            Action("add", "Add a user to a workspace (or change their role).", async (parse, store, ct) =>
            {
                var ws = await RequireWorkspaceAsync(store, parse.GetRequiredValue(workspace), ct);
                var found = await RequireUserAsync(store, parse.GetRequiredValue(user), ct);
                await store.AddMemberAsync(ws.Id, found.Id, parse.GetRequiredValue(role), ct);
                output.WriteLine($"{found.Email} is now {parse.GetRequiredValue(role)} of {ws.Name}.");
                return 0;
            }, context, workspace, user, role),
            Action("remove", "Remove a user from a workspace.", async (parse, store, ct) =>
            {
                var ws = await RequireWorkspaceAsync(store, parse.GetRequiredValue(workspace), ct);
                var found = await RequireUserAsync(store, parse.GetRequiredValue(user), ct);
                await store.RemoveMemberAsync(ws.Id, found.Id, ct);
                output.WriteLine($"Removed {found.Email} from {ws.Name}.");
                return 0;
            }, context, workspace, user),
        };
    }

    private static Command KeysCommand(Lazy<Task<AccessStore>> context, TextWriter output)
    {
        var user = UserOption();
        var optionalUser = new Option<string?>("--user") { Description = "Only this user's keys (id or email)." };
        var name = new Option<string>("--name") { Description = "A name to recognise the key by.", Required = true };
        var expiresInDays = new Option<int?>("--expires-in-days") { Description = "Expire the key after this many days (default: never)." };
        var id = new Option<string>("--id") { Description = "Key id (key_…).", Required = true };

        return new Command("keys", "Manage API keys.")
        {
            Action("create", "Create an API key; it is shown once.", async (parse, store, ct) =>
            {
                var found = await RequireUserAsync(store, parse.GetRequiredValue(user), ct);
                var days = parse.GetValue(expiresInDays);
                if (days is <= 0)
                {
                    throw new AccessConflictException("--expires-in-days must be a positive number of days.");
                }

                var expires = days is { } d ? DateTimeOffset.UtcNow.AddDays(d) : (DateTimeOffset?)null;
                var (record, key) = await store.CreateKeyAsync(found.Id, parse.GetRequiredValue(name), expires, ct);
                output.WriteLine($"Created key {record.Id} '{record.Name}' for {found.Email}{(expires is null ? "" : $", expires {expires:yyyy-MM-dd}")}.");
                output.WriteLine("Copy it now, it is not shown again:");
                output.WriteLine(key);
                return 0;
            }, context, user, name, expiresInDays),
            Action("list", "List keys (never their values).", async (parse, store, ct) =>
            {
                var filter = parse.GetValue(optionalUser) is { } u ? (await RequireUserAsync(store, u, ct)).Id : null;
                var keys = await store.ListKeysAsync(filter, ct);
                Table(output, ["ID", "USER", "NAME", "PREFIX", "CREATED", "LAST USED", "REQUESTS", "STATUS"],
                    keys.Select(k => new[]
                    {
                        k.Id, k.UserId, k.Name, k.Prefix + "…", Time(k.CreatedAt), k.LastUsedAt is { } t ? Time(t) : "never",
                        k.RequestCount.ToString(CultureInfo.InvariantCulture), Status(k),
                    }));
                return 0;
            }, context, optionalUser),
            Action("revoke", "Revoke a key: it stops working at once.", async (parse, store, ct) =>
            {
                await store.RevokeKeyAsync(parse.GetRequiredValue(id), ct);
                output.WriteLine($"Revoked {parse.GetRequiredValue(id)}.");
                return 0;
            }, context, id),
        };
    }

    private static Command CredentialsCommand(Lazy<Task<AccessStore>> context, TextWriter output, IConfiguration configuration)
    {
        var workspace = new Option<string>("--workspace") { Description = "Workspace name.", Required = true };
        var provider = new Option<string>("--provider") { Description = "Provider: openai, xai, deepseek, azure, anthropic or google; or search:brave / search:tavily for a search engine's key.", Required = true };
        var apiKey = new Option<string?>("--api-key") { Description = "The provider key (prefer --api-key-stdin: command lines end up in shell history)." };
        var apiKeyStdin = new Option<bool>("--api-key-stdin") { Description = "Read the provider key from standard input." };
        var baseUrl = new Option<string?>("--base-url") { Description = "The provider's base URL for this workspace (e.g. a private endpoint)." };

        return new Command("credentials", "Manage a workspace's own provider credentials (stored encrypted, never shown again).")
        {
            Action("set", "Set a workspace's key and/or base URL for a provider.", async (parse, store, ct) =>
            {
                var ws = await RequireWorkspaceAsync(store, parse.GetRequiredValue(workspace), ct);
                var name = Providers.ProviderCatalog.Canonical(parse.GetRequiredValue(provider));
                var key = parse.GetValue(apiKeyStdin) ? (await Console.In.ReadLineAsync(ct))?.Trim() : parse.GetValue(apiKey);
                var protector = CredentialProtectorFor(store.Db, configuration);
                await store.SetProviderCredentialAsync(ws.Id, name, parse.GetValue(baseUrl), string.IsNullOrEmpty(key) ? null : protector.Protect(key),
                    string.IsNullOrEmpty(key) ? null : Providers.CredentialProtector.Hint(key), ct);
                output.WriteLine($"Stored {name} credentials for {ws.Name}{(string.IsNullOrEmpty(key) ? "" : $" (key {Providers.CredentialProtector.Hint(key)}, encrypted)")}.");
                return 0;
            }, context, workspace, provider, apiKey, apiKeyStdin, baseUrl),
            Action("list", "List a workspace's provider credentials (never the keys).", async (parse, store, ct) =>
            {
                var ws = await RequireWorkspaceAsync(store, parse.GetRequiredValue(workspace), ct);
                var snapshot = await store.LoadSnapshotAsync(ct);
                Table(output, ["PROVIDER", "BASE URL", "KEY", "UPDATED"],
                    snapshot.CredentialsOf(ws.Id).Select(c => new[] { c.Provider, c.BaseUrl ?? "(default)", c.KeyHint ?? "(gateway key)", Time(c.UpdatedAt) }));
                return 0;
            }, context, workspace),
            Action("remove", "Remove a workspace's credentials for a provider (the gateway's own are used again).", async (parse, store, ct) =>
            {
                var ws = await RequireWorkspaceAsync(store, parse.GetRequiredValue(workspace), ct);
                var name = Providers.ProviderCatalog.Canonical(parse.GetRequiredValue(provider));
                await store.RemoveProviderCredentialAsync(ws.Id, name, ct);
                output.WriteLine($"Removed {name} credentials from {ws.Name}.");
                return 0;
            }, context, workspace, provider),
        };
    }

    /// <summary>The same key ring the gateway uses (data directory or database), so what the CLI encrypts the gateway can read.</summary>
    private static Providers.CredentialProtector CredentialProtectorFor(Db db, IConfiguration configuration)
    {
        var services = new ServiceCollection();
        Providers.CredentialProtector.Configure(services.AddDataProtection(), db, Db.DataDirectory(configuration));
        return new(services.BuildServiceProvider().GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>());
    }

    private static Option<string> UserOption() => new("--user") { Description = "User id (usr_…) or email.", Required = true };

    private static Command Action(string name, string description, Func<ParseResult, AccessStore, CancellationToken, Task<int>> action,
        Lazy<Task<AccessStore>> context, params Option[] options)
    {
        var command = new Command(name, description);
        foreach (var option in options)
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, ct) => await action(parse, await context.Value, ct));
        return command;
    }

    private static async Task<AccessStore> OpenStoreAsync(IConfiguration configuration)
    {
        var db = Db.FromConfiguration(configuration);
        await new MigrationRunner(db, NullLogger<MigrationRunner>.Instance).ApplyAsync(Data.Migrations.Migrations.All, CancellationToken.None);
        return new AccessStore(db, new AccessChangeSignal(), TimeProvider.System);
    }

    private static async Task<User> RequireUserAsync(AccessStore store, string idOrEmail, CancellationToken ct) =>
        await store.FindUserAsync(idOrEmail, ct) ?? throw new AccessConflictException($"No user '{idOrEmail}'.");

    private static async Task<Workspace> RequireWorkspaceAsync(AccessStore store, string name, CancellationToken ct) =>
        (await store.LoadSnapshotAsync(ct)).FindWorkspace(name) ?? throw new AccessConflictException($"No workspace '{name}'.");

    private static string Status(ApiKeyRecord key) =>
        key.RevokedAt is not null ? "revoked"
        : key.ExpiresAt is { } e && e <= DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() ? "expired"
        : "active";

    private static string Time(long unixMilliseconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    private static void Table(TextWriter output, string[] header, IEnumerable<string[]> rows)
    {
        var all = rows.Prepend(header).ToList();
        var widths = header.Select((_, i) => all.Max(r => r[i].Length)).ToArray();
        foreach (var row in all)
        {
            output.WriteLine(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
        }
    }
}
