using System.Net;
using Microsoft.Extensions.Configuration;
using Rampart.Auth;
using Rampart.Cli;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

/// <summary>
/// The operator CLI, run against the live gateway's database as an operator would from a second shell. The gateway is
/// told nothing and must notice the changes within a second, a time bound measured when the machine is not busy with
/// other tests (see <see cref="RunsAlone"/>).
/// </summary>
[Collection(RunsAlone.Name)]
public sealed class CliTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task UserWorkspaceMemberKey_CreatedByCli_WorkAgainstTheRunningGateway()
    {
        var email = $"cli-{Guid.NewGuid():N}@example.test";
        var workspace = "cli-" + Guid.NewGuid().ToString("N")[..10];

        var user = await Cli("users", "create", "--email", email, "--name", "Cli User");
        var ws = await Cli("workspaces", "create", "--name", workspace, "--model", FakeOpenAIServer.Models.Echo);
        var member = await Cli("members", "add", "--workspace", workspace, "--user", email);
        var created = await Cli("keys", "create", "--user", email, "--name", "laptop");

        Assert.Equal(0, user.ExitCode);
        Assert.Matches("Password \\(shown once\\): [0-9A-Za-z]{20}", user.Output);
        Assert.Equal(0, ws.ExitCode);
        Assert.Equal(0, member.ExitCode);
        Assert.Equal(0, created.ExitCode);
        var key = created.Output.Trim().Split('\n').Last().Trim();
        Assert.True(ApiKeys.IsWellFormed(key));

        // The gateway was not told: it must find the new key and workspace on its own.
        using var http = gateway.Http(key);
        var response = await http.GetAsync($"api/v1/models/{workspace}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var list = await Cli("keys", "list", "--user", email);
        Assert.Contains("laptop", list.Output);
        Assert.Contains(key[..12], list.Output);
        Assert.DoesNotContain(key, list.Output);
        Assert.Contains("active", list.Output);
    }

    [Fact]
    public async Task KeyRevokedByCli_StopsWorkingWithinOneSecond()
    {
        var (user, key) = await gateway.CreateCallerAsync("default");
        using var http = gateway.Http(key);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/v1/models")).StatusCode);
        var keyId = (await gateway.Store.ListKeysAsync(user.Id, default)).Single().Id;

        var revoke = await Cli("keys", "revoke", "--id", keyId);
        var revokedAt = DateTime.UtcNow;
        HttpStatusCode status;
        do
        {
            status = (await http.GetAsync("api/v1/models")).StatusCode;
        }
        while (status == HttpStatusCode.OK && DateTime.UtcNow - revokedAt < TimeSpan.FromSeconds(5));

        Assert.Equal(0, revoke.ExitCode);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        var took = DateTime.UtcNow - revokedAt;
        Assert.True(took < TimeSpan.FromSeconds(1), $"revocation by another process propagates within a second (took {took.TotalMilliseconds:F0} ms)");
        Assert.Contains("revoked", (await Cli("keys", "list", "--user", user.Id)).Output);
    }

    [Fact]
    public async Task Mistakes_GiveAClearErrorAndExitCode1()
    {
        var email = $"dup-{Guid.NewGuid():N}@example.test";
        await Cli("users", "create", "--email", email);

        var duplicate = await Cli("users", "create", "--email", email.ToUpperInvariant());
        var badName = await Cli("workspaces", "create", "--name", "Has Spaces");
        var noUser = await Cli("keys", "create", "--user", "nobody@example.test", "--name", "x");
        var badRole = await Cli("members", "add", "--workspace", "default", "--user", email, "--role", "owner");
        var badExpiry = await Cli("keys", "create", "--user", email, "--name", "x", "--expires-in-days", "0");
        var missingOption = await Cli("keys", "create", "--user", email);
        var badSecrets = await Cli("workspaces", "create", "--name", "bad-secrets-" + Guid.NewGuid().ToString("N")[..8], "--secrets", "ignore");

        Assert.Equal((1, "already exists"), (duplicate.ExitCode, Expect(duplicate.Error, "already exists")));
        Assert.Equal((1, "not a valid workspace name"), (badName.ExitCode, Expect(badName.Error, "not a valid workspace name")));
        Assert.Equal((1, "No user"), (noUser.ExitCode, Expect(noUser.Error, "No user")));
        Assert.Equal((1, "Unknown workspace role"), (badRole.ExitCode, Expect(badRole.Error, "Unknown workspace role")));
        Assert.Equal((1, "positive number of days"), (badExpiry.ExitCode, Expect(badExpiry.Error, "positive number of days")));
        Assert.Equal((1, "secrets must be block or redact"), (badSecrets.ExitCode, Expect(badSecrets.Error, "secrets must be block or redact")));
        Assert.NotEqual(0, missingOption.ExitCode);
        Assert.Contains("--name", missingOption.Error);
    }

    [Fact]
    public async Task ExpiringKey_FromCli_IsListedWithItsExpiry()
    {
        var email = $"exp-{Guid.NewGuid():N}@example.test";
        await Cli("users", "create", "--email", email);

        var created = await Cli("keys", "create", "--user", email, "--name", "ci", "--expires-in-days", "30");

        Assert.Equal(0, created.ExitCode);
        Assert.Contains($"expires {DateTimeOffset.UtcNow.AddDays(30):yyyy-MM-dd}", created.Output);
    }

    [Fact]
    public async Task WorkspaceRoutingAndGuardrailOptions_AreStoredInThePolicy()
    {
        var name = "cli-routing-" + Guid.NewGuid().ToString("N")[..8];

        var created = await Cli("workspaces", "create", "--name", name, "--fallback", "xai/grok-beta", "--fallback", "openai/gpt-4o-mini",
            "--retries", "1", "--timeout-seconds", "30", "--pii", "obfuscate", "--pii-restore", "on_request", "--scan-output", "--secrets", "redact");
        var policy = (await gateway.Store.LoadSnapshotAsync(default)).FindWorkspace(name)!.Policy;

        Assert.Equal(0, created.ExitCode);
        Assert.Equal(["xai/grok-beta", "openai/gpt-4o-mini"], policy.Routing.Fallbacks);
        Assert.Equal(1, policy.Routing.Retries);
        Assert.Equal(30, policy.Routing.TimeoutSeconds);
        Assert.Equal(("obfuscate", "on_request", true, "redact"), (policy.Pii, policy.PiiRestore, policy.ScanOutput, policy.Secrets));
    }

    private static string Expect(string text, string fragment) => text.Contains(fragment, StringComparison.Ordinal) ? fragment : text;

    [Fact]
    public async Task SetPolicy_LoadsAWholeValidatedPolicy_AndRefusesABadOneKeepingTheOld()
    {
        var workspace = "cli-" + Guid.NewGuid().ToString("N")[..10];
        await Cli("workspaces", "create", "--name", workspace, "--model", FakeOpenAIServer.Models.Echo);
        var good = Path.Combine(gateway.DataDir, $"{workspace}.json");
        await File.WriteAllTextAsync(good, $$"""
            {
              "provider": "openai",
              "model": "{{FakeOpenAIServer.Models.Echo}}",
              "guideline": "Never give legal advice.",
              "blocked_topics": [ { "name": "no-legal-advice", "keywords": ["lawsuit"] } ],
              "limits": { "per_key": { "requests_per_minute": 60 } },
              "tripwires": { "mode": "flag" }
            }
            """);
        var typo = Path.Combine(gateway.DataDir, $"{workspace}-typo.json");
        await File.WriteAllTextAsync(typo, """{ "provider": "openai", "model": "m", "blocked_topic": [] }""");
        var invalid = Path.Combine(gateway.DataDir, $"{workspace}-invalid.json");
        await File.WriteAllTextAsync(invalid, """{ "provider": "openai", "model": "m", "allowed_hours": { "time_zone": "Nowhere/City", "windows": [ {} ] } }""");

        var set = await Cli("workspaces", "set-policy", "--name", workspace, "--file", good);
        var badField = await Cli("workspaces", "set-policy", "--name", workspace, "--file", typo);
        var badZone = await Cli("workspaces", "set-policy", "--name", workspace, "--file", invalid);
        var shown = await Cli("workspaces", "show-policy", "--name", workspace);

        Assert.Equal(0, set.ExitCode);
        Assert.Equal(1, badField.ExitCode);
        Assert.Contains("blocked_topic", badField.Error);
        Assert.Equal(1, badZone.ExitCode);
        Assert.Contains("Invalid workspace policy: allowed_hours.time_zone 'Nowhere/City' is not a known IANA time zone", badZone.Error);
        Assert.Contains("\"no-legal-advice\"", shown.Output);
        Assert.Contains("\"requests_per_minute\": 60", shown.Output);
    }

    [Fact]
    public async Task WorkspaceTavily_SetUpWithTheCli_SearchesWhereTheGatewayHasNoEngine()
    {
        await using var engines = await FakeSearxngServer.StartAsync();
        var workspace = "cli-" + Guid.NewGuid().ToString("N")[..10];
        await Cli("workspaces", "create", "--name", workspace, "--model", FakeOpenAIServer.Models.Searcher);
        var file = Path.Combine(gateway.DataDir, $"{workspace}.json");
        await File.WriteAllTextAsync(file, $$"""
            { "provider": "openai", "model": "{{FakeOpenAIServer.Models.Searcher}}", "search": { "backend": "tavily", "base_url": "{{engines.TavilyBaseUrl}}" } }
            """);
        var tavilyKey = "tvly-test-" + Guid.NewGuid().ToString("N");

        var policy = await Cli("workspaces", "set-policy", "--name", workspace, "--file", file);
        var refused = await Cli("credentials", "set", "--workspace", workspace, "--provider", "search:tavily", "--api-key", tavilyKey, "--base-url", "https://elsewhere.example.test");
        var stored = await Cli("credentials", "set", "--workspace", workspace, "--provider", "search:tavily", "--api-key", tavilyKey);
        var listed = await Cli("credentials", "list", "--workspace", workspace);
        var (user, key) = await gateway.CreateCallerAsync();
        await Cli("members", "add", "--workspace", workspace, "--user", user.Id);
        var marker = ChatApi.NewMarker();
        using var http = gateway.Http(key);
        HttpResponseMessage response;
        var deadline = DateTime.UtcNow.AddSeconds(5);
        do
        {
            // The gateway learns of the CLI's changes within a poll interval.
            response = await ChatApi.PostAsync(http, ChatApi.Request(workspace, marker));
        }
        while (response.StatusCode == HttpStatusCode.NotFound && DateTime.UtcNow < deadline);

        Assert.Equal(0, policy.ExitCode);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("A search credential holds only the API key", refused.Error, StringComparison.Ordinal);
        Assert.Equal(0, stored.ExitCode);
        Assert.Contains("search:tavily", listed.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(tavilyKey, listed.Output + stored.Output, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("searches=1; backend=tavily", response.Headers.GetValues("x-rampart-web-search").Single());
        Assert.Equal(new FakeSearch("tavily", marker, tavilyKey), Assert.Single(engines.Searches));
        response.Dispose();
    }

    private async Task<(int ExitCode, string Output, string Error)> Cli(params string[] args)
    {
        var settings = gateway.DatabaseSettings();
        settings["Rampart:PasswordIterations"] = "1000";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await RampartCli.RunAsync(args, output, error, configuration);
        return (exitCode, output.ToString(), error.ToString());
    }
}
