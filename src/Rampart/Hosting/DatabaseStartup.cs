using Rampart.Auth;
using Rampart.Data;
using Rampart.Providers;
using Rampart.Workspaces;

namespace Rampart.Hosting;

/// <summary>
/// Runs before the server accepts requests: applies migrations, performs the first start on an empty database,
/// and loads the access snapshot.
/// </summary>
internal sealed partial class DatabaseStartup(
    MigrationRunner migrations,
    AccessStore store,
    AccessCache access,
    ProviderCatalog providers,
    FirstStartReport report,
    IConfiguration configuration,
    ILogger<DatabaseStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await migrations.ApplyAsync(Data.Migrations.Migrations.All, cancellationToken);
        LogDatabase(store.Db.Dialect, store.Db.Description);

        var configuredPassword = configuration["RAMPART_ADMIN_PASSWORD"];
        var result = await store.BootstrapAsync(
            configuration["RAMPART_ADMIN_EMAIL"] is { Length: > 0 } email ? email : "admin@localhost",
            string.IsNullOrEmpty(configuredPassword) ? Ids.RandomBase62(20) : configuredPassword,
            configuration.GetValue("Rampart:PasswordIterations", PasswordHasher.DefaultIterations),
            DefaultWorkspacePolicy(providers),
            cancellationToken);
        if (result is not null)
        {
            report.Print(result, passwordWasConfigured: !string.IsNullOrEmpty(configuredPassword));
        }

        await access.RefreshAsync(force: true, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The first configured provider's everyday model; OpenAI's when none is configured (the demo answers until a key is set).</summary>
    private static WorkspacePolicy DefaultWorkspacePolicy(ProviderCatalog providers)
    {
        var configured = providers.All.FirstOrDefault(p => p.IsConfigured)?.Name;
        return configured switch
        {
            "xai" => new WorkspacePolicy { Provider = "xai", Model = "grok-beta" },
            "deepseek" => new WorkspacePolicy { Provider = "deepseek", Model = "deepseek-chat" },
            "anthropic" => new WorkspacePolicy { Provider = "anthropic", Model = "claude-sonnet-4-5" },
            "google" => new WorkspacePolicy { Provider = "google", Model = "gemini-2.0-flash" },
            _ => new WorkspacePolicy { Provider = "openai", Model = "gpt-4o-mini" },
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Database ready: {Dialect} at {Location}")]
    private partial void LogDatabase(SqlDialect dialect, string location);
}

/// <summary>
/// Prints the first-start credentials once, straight to the console rather than through logging,
/// so that no log sink ever stores them.
/// </summary>
internal sealed class FirstStartReport(TextWriter output, IConfiguration configuration)
{
    public void Print(FirstStartResult result, bool passwordWasConfigured)
    {
        var url = (configuration["urls"] ?? "http://localhost:8080").Split(';')[0].Replace("*", "localhost", StringComparison.Ordinal).Replace("+", "localhost", StringComparison.Ordinal);
        output.WriteLine($"""

            ==================== Rampart: first start ====================
             A new database was set up. These details are shown ONCE.

             Dashboard sign-in : {result.Admin.Email}
             Password          : {(passwordWasConfigured ? "(the one in RAMPART_ADMIN_PASSWORD)" : result.Password)}
             Workspace         : {result.Workspace.Name} ({result.Workspace.Policy.Provider}/{result.Workspace.Policy.Model})
             API key           : {result.ApiKey}

             Try it:
               curl {url}/api/v1/chat/completions \
                 -H "Authorization: Bearer {result.ApiKey}" \
                 -H "Content-Type: application/json" \
                 -d '{"{"}"model":"default","messages":[{"{"}"role":"user","content":"Hello!"{"}"}]{"}"}'

             Lost them? Create another key with:
               dotnet run --project src/Rampart -- keys create --user {result.Admin.Email} --name my-key
            ==============================================================

            """);
        output.Flush();
    }
}
