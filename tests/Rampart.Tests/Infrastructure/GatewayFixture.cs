using System.ClientModel;
using System.ClientModel.Primitives;
using System.Data.Common;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Dapper;
using Npgsql;
using OpenAI;
using Rampart.Audit;
using Rampart.Auth;
using Rampart.Data;
using Rampart.Hosting;
using Rampart.Workspaces;

namespace Rampart.Tests.Infrastructure;

/// <summary>
/// The real gateway (Program, Kestrel on a loopback port, SQLite in a temp folder or, with <c>RAMPART_TEST_DB=postgres</c>,
/// a fresh PostgreSQL database; see <see cref="TestDatabase"/>) in front of a
/// <see cref="FakeOpenAIServer"/> configured as the <c>openai</c> provider. Tests create their own users, keys and
/// workspaces through the same store the CLI uses, so they do not depend on each other.
/// </summary>
public class GatewayFixture : IAsyncLifetime
{
    private RampartFactory? _factory;

    public FakeOpenAIServer Upstream { get; private set; } = null!;

    public string BaseUrl { get; private set; } = "";

    public GatewayFixture()
        : this(Path.Combine(Path.GetTempPath(), "rampart-tests-" + Guid.NewGuid().ToString("N")), deleteDataOnDispose: true)
    {
    }

    /// <summary>A gateway on an existing data folder, e.g. to restart on the same database.</summary>
    protected GatewayFixture(string dataDir, bool deleteDataOnDispose)
    {
        DataDir = dataDir;
        _deleteDataOnDispose = deleteDataOnDispose;
    }

    private readonly bool _deleteDataOnDispose;

    public string DataDir { get; }

    /// <summary>Generated per run, never a real secret.</summary>
    public string MasterKey { get; } = "test-master-" + Guid.NewGuid().ToString("N");

    public string UpstreamKey { get; } = "sk-test-upstream-" + Guid.NewGuid().ToString("N");

    public StringWriter FirstStartOutput { get; } = new();

    /// <summary>Everything the gateway logged, at every level down to Trace.</summary>
    public CapturedLogs Logs { get; } = new();

    internal IServiceProvider Services => _factory!.Services;

    internal AccessStore Store => Services.GetRequiredService<AccessStore>();

    /// <summary>The settings the gateway started with.</summary>
    internal IReadOnlyDictionary<string, string?> Settings { get; private set; } = new Dictionary<string, string?>();

    /// <summary>The settings that pick the gateway's database, for a CLI or a second gateway on the same data.</summary>
    internal Dictionary<string, string?> DatabaseSettings() => new()
    {
        ["RAMPART_DATA_DIR"] = DataDir,
        [Db.PostgresSetting] = Settings.GetValueOrDefault(Db.PostgresSetting),
    };

    /// <summary>A connection to the gateway's database that does not go through the gateway, which may have stopped.</summary>
    internal async Task<DbConnection> ConnectAsync()
    {
        DbConnection connection = Settings.GetValueOrDefault(Db.PostgresSetting) is { Length: > 0 } postgres
            ? new NpgsqlConnection(new NpgsqlConnectionStringBuilder(postgres) { Pooling = false }.ConnectionString)
            : new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(DataDir, "rampart.db"), Pooling = false }.ToString());
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Settings on top of the defaults below; a subclass may add or blank out any of them.</summary>
    protected virtual void Configure(Dictionary<string, string?> settings)
    {
    }

    /// <summary>Services on top of the gateway's own, e.g. a fake clock; registered last, so they win.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public async Task InitializeAsync()
    {
        Upstream = await FakeOpenAIServer.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["RAMPART_DATA_DIR"] = DataDir,
            ["RAMPART_MASTER_KEY"] = MasterKey,
            ["OPENAI_API_KEY"] = UpstreamKey,
            ["OPENAI_BASE_URL"] = Upstream.BaseUrl,
            // Whatever the machine has, the other providers are unconfigured in tests.
            ["XAI_API_KEY"] = "",
            ["XAI_BASE_URL"] = "",
            ["DEEPSEEK_API_KEY"] = "",
            ["DEEPSEEK_BASE_URL"] = "",
            ["AZURE_OPENAI_API_KEY"] = "",
            ["AZURE_OPENAI_BASE_URL"] = "",
            ["AZURE_OPENAI_ENDPOINT"] = "",
            ["ANTHROPIC_API_KEY"] = "",
            ["ANTHROPIC_BASE_URL"] = "",
            ["GEMINI_API_KEY"] = "",
            ["GEMINI_BASE_URL"] = "",
            ["SEARXNG_BASE_URL"] = "",
            ["BRAVE_SEARCH_API_KEY"] = "",
            ["TAVILY_API_KEY"] = "",
            ["Rampart:PasswordIterations"] = "1000",
            ["Rampart:Upstream:TimeoutSeconds"] = "2",
            ["Rampart:Upstream:StreamIdleTimeoutSeconds"] = "2",
            ["Rampart:DemoWordDelayMilliseconds"] = "0",
            ["Rampart:AccessPollMilliseconds"] = "200",
            // The thread pool is the test process's, shared by every gateway started here; StartupThreadsTests owns it.
            ["Rampart:StartupThreads:Seconds"] = "0",
            // Failure tests here check single upstream calls: no retries, and breakers that do not trip across tests.
            // The routing tests have their own gateway with retries and a quick breaker.
            ["Rampart:Routing:Retries"] = "0",
            ["Rampart:CircuitBreaker:MinimumThroughput"] = "100000",
        };
        if (TestDatabase.UsePostgres)
        {
            settings[Db.PostgresSetting] = await TestDatabase.PostgresFor(DataDir);
        }

        Configure(settings);
        Settings = settings;
        _factory = new RampartFactory(settings, FirstStartOutput, Logs, ConfigureServices);
        _factory.UseKestrel(0);
        _factory.StartServer();
        BaseUrl = _factory.ClientOptions.BaseAddress.ToString().TrimEnd('/');
        var expected = settings.GetValueOrDefault(Db.PostgresSetting) is { Length: > 0 } ? SqlDialect.Postgres : SqlDialect.Sqlite;
        if (Store.Db.Dialect != expected)
        {
            throw new InvalidOperationException($"The gateway runs on {Store.Db.Dialect}, the test asked for {expected}.");
        }
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        await Upstream.DisposeAsync();
        SqliteConnection.ClearAllPools();
        if (!_deleteDataOnDispose)
        {
            return;
        }

        await TestDatabase.DropAsync(DataDir);
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may still hold the file for a moment on a slow machine; the temp folder is cleaned by the OS.
        }
    }

    /// <summary>A new user (org member) with one API key, member of the given workspaces.</summary>
    internal async Task<(User User, string Key)> CreateCallerAsync(params string[] workspaces)
    {
        var user = await Store.CreateUserAsync($"user-{Guid.NewGuid():N}@example.test", "Test User", null, OrgRoles.Member, default);
        foreach (var name in workspaces)
        {
            var workspace = Services.GetRequiredService<AccessCache>().Current.FindWorkspace(name) ?? throw new InvalidOperationException($"no workspace {name}");
            await Store.AddMemberAsync(workspace.Id, user.Id, WorkspaceRoles.Member, default);
        }

        var (_, key) = await Store.CreateKeyAsync(user.Id, "test key", null, default);
        return (user, key);
    }

    /// <summary>A new workspace served by the fake upstream's <paramref name="model"/> (or another provider).</summary>
    internal Task<Workspace> CreateWorkspaceAsync(string model = FakeOpenAIServer.Models.Echo, string provider = "openai", string? persona = WorkspacePolicy.DefaultPersona, bool allowDirect = true) =>
        Store.CreateWorkspaceAsync("ws-" + Guid.NewGuid().ToString("N")[..12],
            new WorkspacePolicy { Provider = provider, Model = model, Persona = persona, AllowDirectModels = allowDirect }, default);

    /// <summary>A workspace and a caller who belongs to it.</summary>
    internal async Task<(Workspace Workspace, string Key)> CreateWorkspaceWithCallerAsync(string model = FakeOpenAIServer.Models.Echo, string? persona = WorkspacePolicy.DefaultPersona)
    {
        var workspace = await CreateWorkspaceAsync(model, persona: persona);
        var (_, key) = await CreateCallerAsync(workspace.Name);
        return (workspace, key);
    }

    /// <summary>The verdicts of this response's audit record, joined with "; " (null when it has none).</summary>
    internal async Task<string?> AuditVerdictsAsync(HttpResponseMessage response)
    {
        var verdicts = await AuditColumnAsync<string?>(response, "verdicts");
        return verdicts is null ? null : string.Join("; ", System.Text.Json.Nodes.JsonNode.Parse(verdicts)!.AsArray().Select(v => v!.GetValue<string>()));
    }

    /// <summary>
    /// One column of this response's audit record, once the writer has flushed it. The record is queued just after
    /// the answer has gone out, so the caller can be a moment ahead of it: flush and look again until it is there.
    /// </summary>
    internal async Task<T> AuditColumnAsync<T>(HttpResponseMessage response, string column)
    {
        var id = response.Headers.GetValues("x-request-id").Single();
        IEnumerable<T> found = [];
        await Eventually.WaitUntilAsync(async () =>
        {
            await Services.GetRequiredService<AuditWriter>().FlushAsync();
            await using var connection = await Services.GetRequiredService<Db>().OpenAsync();
            found = await connection.QueryAsync<T>($"SELECT {column} FROM audit_records WHERE id = @id", new { id });
            return found.Any();
        }, $"no audit record for {id}");
        return found.Single();
    }

    public HttpClient Http(string? key = null)
    {
        var client = new HttpClient { BaseAddress = new Uri(BaseUrl + "/"), Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary>The official OpenAI .NET SDK pointed at the gateway, with its retries off so errors surface as they are.</summary>
    public OpenAIClient Sdk(string key) => new(new ApiKeyCredential(key), new OpenAIClientOptions
    {
        Endpoint = new Uri(BaseUrl + "/api/v1"),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        NetworkTimeout = TimeSpan.FromSeconds(30),
    });

    private sealed class RampartFactory(Dictionary<string, string?> settings, StringWriter firstStartOutput, CapturedLogs logs, Action<IServiceCollection> configureServices)
        : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureLogging(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
            builder.ConfigureServices(services =>
            {
                services.AddSingleton(sp => new FirstStartReport(firstStartOutput, sp.GetRequiredService<IConfiguration>()));
                configureServices(services);
            });
        }
    }
}

/// <summary>One gateway shared by the API test classes; they run one after another against it.</summary>
[CollectionDefinition(Name)]
public sealed class GatewayTests : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}
