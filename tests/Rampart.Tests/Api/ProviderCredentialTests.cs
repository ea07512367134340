using System.Net;
using System.Text;
using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Rampart.Cli;
using Rampart.Data;
using Rampart.Providers;
using Rampart.Tests.Infrastructure;
using Rampart.Workspaces;

namespace Rampart.Tests.Api;

/// <summary>A workspace's own provider credentials: used instead of the gateway's, stored only encrypted.</summary>
[Collection(GatewayTests.Name)]
public sealed class ProviderCredentialTests(GatewayFixture gateway)
{
    private CredentialProtector Protector => gateway.Services.GetRequiredService<CredentialProtector>();

    private async Task<(Workspace Workspace, string Key)> Workspace(string provider = "openai")
    {
        var workspace = await gateway.Store.CreateWorkspaceAsync("cred-" + Guid.NewGuid().ToString("N")[..10],
            new WorkspacePolicy { Provider = provider, Model = FakeOpenAIServer.Models.Echo, Persona = null }, default);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        return (workspace, key);
    }

    private async Task<RecordedRequest> Call(string key, string workspace)
    {
        var marker = ChatApi.NewMarker();
        using var http = gateway.Http(key);
        var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace, marker));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return gateway.Upstream.RequestWith(marker);
    }

    [Fact]
    public async Task WorkspaceKey_IsUsedInsteadOfTheGatewayKey_UpdatedAtOnce_AndRemovable()
    {
        var (mine, key) = await Workspace();
        var (other, otherKey) = await Workspace();
        var first = "sk-test-workspace-" + Guid.NewGuid().ToString("N");
        var second = "sk-test-workspace-" + Guid.NewGuid().ToString("N");

        await gateway.Store.SetProviderCredentialAsync(mine.Id, "openai", null, Protector.Protect(first), CredentialProtector.Hint(first), default);
        Assert.Equal("Bearer " + first, (await Call(key, mine.Name)).Authorization);
        Assert.Equal("Bearer " + gateway.UpstreamKey, (await Call(otherKey, other.Name)).Authorization);

        await gateway.Store.SetProviderCredentialAsync(mine.Id, "openai", null, Protector.Protect(second), CredentialProtector.Hint(second), default);
        Assert.Equal("Bearer " + second, (await Call(key, mine.Name)).Authorization);

        await gateway.Store.RemoveProviderCredentialAsync(mine.Id, "openai", default);
        Assert.Equal("Bearer " + gateway.UpstreamKey, (await Call(key, mine.Name)).Authorization);
    }

    [Fact]
    public async Task WorkspaceBaseUrlAndKey_MakeAnUnconfiguredProviderReal()
    {
        var (workspace, key) = await Workspace(provider: "xai");
        var secret = "xai-test-" + Guid.NewGuid().ToString("N");
        await gateway.Store.SetProviderCredentialAsync(workspace.Id, "xai", gateway.Upstream.BaseUrl, Protector.Protect(secret), CredentialProtector.Hint(secret), default);

        var sent = await Call(key, workspace.Name);

        Assert.Equal("Bearer " + secret, sent.Authorization);
    }

    [Fact]
    public async Task WorkspaceBaseUrlWithoutAKey_NeverReceivesTheGatewaysKey()
    {
        await using var elsewhere = await FakeOpenAIServer.StartAsync();
        var (workspace, key) = await Workspace();
        await gateway.Store.SetProviderCredentialAsync(workspace.Id, "openai", elsewhere.BaseUrl, null, null, default);

        var marker = ChatApi.NewMarker();
        using var http = gateway.Http(key);
        var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, marker));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("", elsewhere.RequestWith(marker).Authorization);
        Assert.DoesNotContain(gateway.UpstreamKey, elsewhere.RequestWith(marker).Authorization);

        // The same address as the gateway's own (written differently) still gets the gateway's key.
        await gateway.Store.SetProviderCredentialAsync(workspace.Id, "openai", gateway.Upstream.BaseUrl + "/", null, null, default);
        Assert.Equal("Bearer " + gateway.UpstreamKey, (await Call(key, workspace.Name)).Authorization);
    }

    [Fact]
    public async Task StoredKey_IsEncrypted_NotInTheDatabaseInTheClear()
    {
        var (workspace, _) = await Workspace();
        var secret = "sk-test-at-rest-" + Guid.NewGuid().ToString("N");

        await gateway.Store.SetProviderCredentialAsync(workspace.Id, "openai", null, Protector.Protect(secret), CredentialProtector.Hint(secret), default);

        await using var connection = await gateway.Store.Db.OpenAsync();
        var stored = await connection.QuerySingleAsync<string>("SELECT api_key_protected FROM provider_credentials WHERE workspace_id = @Id", new { workspace.Id });
        Assert.DoesNotContain(secret, stored);
        Assert.Equal(secret, Protector.Unprotect(stored));
        if (gateway.Store.Db.Dialect == SqlDialect.Sqlite)
        {
            // The database's files on disk (the PostgreSQL server's are not ours to read).
            await connection.ExecuteAsync("PRAGMA wal_checkpoint(FULL)");
            var files = Directory.GetFiles(gateway.DataDir, "rampart.db*").Select(f => File.ReadAllBytes(f));
            Assert.All(files, bytes => Assert.DoesNotContain(secret, Encoding.UTF8.GetString(bytes)));
        }
    }

    [Fact]
    public async Task Cli_SetsCredentialTheGatewayUses_AndListsOnlyAHint()
    {
        var (workspace, key) = await Workspace();
        var secret = "sk-test-cli-" + Guid.NewGuid().ToString("N");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(gateway.DatabaseSettings()).Build();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var set = await RampartCli.RunAsync(["credentials", "set", "--workspace", workspace.Name, "--provider", "openai", "--api-key", secret], output, error, configuration);
        var list = await RampartCli.RunAsync(["credentials", "list", "--workspace", workspace.Name], output, error, configuration);

        Assert.Equal((0, 0), (set, list));
        Assert.DoesNotContain(secret, output.ToString());
        Assert.Contains("…" + secret[^4..], output.ToString());

        // The gateway was not told; within a poll interval it uses the key the CLI encrypted.
        var deadline = DateTime.UtcNow.AddSeconds(3);
        string authorization;
        do
        {
            authorization = (await Call(key, workspace.Name)).Authorization;
        }
        while (authorization != "Bearer " + secret && DateTime.UtcNow < deadline);

        Assert.Equal("Bearer " + secret, authorization);
    }
}
