using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using OpenAI;
using OpenAI.Chat;
using Rampart.Tests.Guardrails;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Operations;

/// <summary>
/// The gateway as it ships, in its own process, driven over HTTP through every part that reads or writes the database,
/// (de)serialises JSON or scans text: first start, management, chats whole and streamed through the official OpenAI
/// client, the secret and personal-data scanners, the audit log and usage, the dashboard's sign-in and pages, and the
/// executable's own commands. On
/// the JIT it overlaps the in-process suites; its purpose is the Native AOT build, which test.sh runs it against
/// (<see cref="GatewayProcess.BinaryVariable"/>): code that works on the JIT but not compiled ahead of time (reflection,
/// emitted IL, a Dapper call left uncompiled) fails here.
/// </summary>
[Trait("Gateway", "Process")]
public sealed partial class ShippedGatewayTests
{
    [Fact]
    public async Task FirstStart_Management_Chats_Scanners_Audit_Dashboard_And_Commands_WorkEndToEnd()
    {
        await using var upstream = await FakeOpenAIServer.StartAsync();
        var dataDir = Path.Combine(Path.GetTempPath(), "rampart-shipped-" + Guid.NewGuid().ToString("N"));
        var masterKey = "test-master-" + Guid.NewGuid().ToString("N");
        var adminPassword = "test-admin-" + Guid.NewGuid().ToString("N");
        var memberPassword = "test-member-" + Guid.NewGuid().ToString("N");
        var memberEmail = $"member.{Guid.NewGuid():N}@example.com";
        var workspaceKey = "sk-test-workspace-" + Guid.NewGuid().ToString("N");
        var workspace = "shipped-" + Guid.NewGuid().ToString("N")[..8];
        var environment = new Dictionary<string, string>
        {
            ["RAMPART_DATA_DIR"] = dataDir,
            ["RAMPART_MASTER_KEY"] = masterKey,
            ["RAMPART_ADMIN_PASSWORD"] = adminPassword,
            ["OPENAI_API_KEY"] = "sk-test-gateway-" + Guid.NewGuid().ToString("N"),
            ["OPENAI_BASE_URL"] = upstream.BaseUrl,
            ["Rampart__Audit__FlushIntervalMilliseconds"] = "100",
        };
        if (TestDatabase.UsePostgres)
        {
            environment["RAMPART_POSTGRES"] = await TestDatabase.PostgresFor(dataDir);
        }

        try
        {
            await using var gateway = await GatewayProcess.StartAsync(environment);
            using var admin = gateway.Http(masterKey);

            // Management: a member, a workspace on the upstream (PII obfuscation and restoration switched on by a policy update), the
            // member in it, a provider key of the workspace's own, and an API key for the member.
            var created = await SendAsync(admin, HttpMethod.Post, "api/v1/users", new JsonObject { ["email"] = memberEmail, ["name"] = "Member", ["password"] = memberPassword }, HttpStatusCode.Created);
            var memberId = created["user"]!["id"]!.GetValue<string>();
            await SendAsync(admin, HttpMethod.Post, "api/v1/workspaces", new JsonObject
            {
                ["name"] = workspace,
                ["policy"] = new JsonObject { ["provider"] = "openai", ["model"] = FakeOpenAIServer.Models.EchoUser },
            }, HttpStatusCode.Created);
            var policy = await SendAsync(admin, HttpMethod.Get, $"api/v1/workspaces/{workspace}/policy", null, HttpStatusCode.OK);
            policy["pii"] = "obfuscate";
            policy["pii_restore"] = "always";
            var updated = await SendAsync(admin, HttpMethod.Put, $"api/v1/workspaces/{workspace}/policy", policy, HttpStatusCode.OK);
            Assert.Equal("obfuscate", updated["pii"]!.GetValue<string>());
            var members = await SendAsync(admin, HttpMethod.Post, $"api/v1/workspaces/{workspace}/members", new JsonObject { ["user"] = memberEmail }, HttpStatusCode.OK);
            Assert.Contains(members["data"]!.AsArray(), m => m!["email"]!.GetValue<string>() == memberEmail);
            await SendAsync(admin, HttpMethod.Put, $"api/v1/workspaces/{workspace}/credentials/openai", new JsonObject { ["api_key"] = workspaceKey }, HttpStatusCode.OK);
            var credentials = await admin.GetStringAsync($"api/v1/workspaces/{workspace}/credentials");
            Assert.Contains("…" + workspaceKey[^4..], credentials, StringComparison.Ordinal);
            Assert.DoesNotContain(workspaceKey, credentials, StringComparison.Ordinal);
            var key = (await SendAsync(admin, HttpMethod.Post, "api/v1/keys", new JsonObject { ["name"] = "shipped", ["user_id"] = memberId }, HttpStatusCode.Created))["key"]!.GetValue<string>();

            // Chats, as the member, through the official client: the workspace is a model; an e-mail address reaches the
            // provider as a placeholder (with the workspace's own key) and comes back restored, whole and streamed.
            var client = new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions
            {
                Endpoint = new Uri(gateway.BaseUrl + "/api/v1"),
                RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
                NetworkTimeout = TimeSpan.FromSeconds(30),
            });
            var models = new List<string>();
            foreach (var model in (await client.GetOpenAIModelClient().GetModelsAsync()).Value)
            {
                models.Add(model.Id);
            }

            Assert.Contains(workspace, models);
            var email = $"person.{Guid.NewGuid():N}@example.com";
            var prompt = $"Please write to {email} today.";
            var chat = client.GetChatClient(workspace);
            ChatCompletion whole = await chat.CompleteChatAsync([new UserChatMessage(prompt)]);
            Assert.Equal(prompt, whole.Content[0].Text);
            var streamed = new System.Text.StringBuilder();
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(prompt)]))
            {
                foreach (var part in update.ContentUpdate)
                {
                    streamed.Append(part.Text);
                }
            }

            Assert.Equal(prompt, streamed.ToString());
            Assert.Equal(2, upstream.Requests.Count);
            Assert.All(upstream.Requests, r =>
            {
                Assert.DoesNotContain(email, r.Body, StringComparison.Ordinal);
                Assert.Equal("Bearer " + workspaceKey, r.Authorization);
            });

            using var member = gateway.Http(key);
            var secret = "ghp_" + FakeSecrets.R("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36);
            using var blocked = await ChatApi.PostAsync(member, ChatApi.Request(workspace, $"deploy with {secret}"));
            Assert.Equal(HttpStatusCode.BadRequest, blocked.StatusCode);
            Assert.Equal("secret_detected", (await ChatApi.ErrorAsync(blocked))["code"]!.GetValue<string>());
            Assert.Equal(2, upstream.Requests.Count);

            // The audit log and usage, read back: paged with a cursor, filtered, exported, summed.
            JsonNode page = new JsonObject();
            await Eventually.WaitUntilAsync(async () =>
            {
                page = JsonNode.Parse(await admin.GetStringAsync($"api/v1/audit?workspace={workspace}&limit=2"))!;
                return page["data"]!.AsArray().Count == 2 && page["has_more"]!.GetValue<bool>();
            }, "the three audit records were not written");
            var next = JsonNode.Parse(await admin.GetStringAsync($"api/v1/audit?workspace={workspace}&limit=2&cursor={Uri.EscapeDataString(page["next_cursor"]!.GetValue<string>())}"))!;
            var outcomes = page["data"]!.AsArray().Concat(next["data"]!.AsArray()).Select(r => r!["outcome"]!.GetValue<string>()).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(["blocked", "ok", "ok"], outcomes);
            var blockedOnly = JsonNode.Parse(await member.GetStringAsync($"api/v1/audit?workspace={workspace}&outcome=blocked"))!["data"]!.AsArray();
            Assert.Equal("secret_detected", Assert.Single(blockedOnly)!["error_code"]!.GetValue<string>());
            var export = await admin.GetStringAsync($"api/v1/audit/export?format=jsonl&workspace={workspace}");
            Assert.Equal(3, export.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
            Assert.DoesNotContain(email, export, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, export, StringComparison.Ordinal);
            JsonArray usage = [];
            await Eventually.WaitUntilAsync(async () =>
            {
                usage = JsonNode.Parse(await admin.GetStringAsync($"api/v1/usage?group_by=workspace&workspace={workspace}"))!["data"]!.AsArray();
                return usage.Count == 1 && usage[0]!["requests"]!.GetValue<long>() == 3;
            }, "the usage of the three requests was not summed");
            Assert.Equal(1, usage[0]!["blocked"]!.GetValue<long>());

            // The dashboard: five wrong passwords lock an account; the member signs in and reads their audit log.
            var locked = "";
            for (var attempt = 0; attempt < 5; attempt++)
            {
                using var browser = Browser(gateway);
                locked = await SignInAsync(browser, "admin@localhost", "wrong-" + Guid.NewGuid().ToString("N"));
            }

            Assert.Contains("locked for", locked, StringComparison.Ordinal);
            using (var browser = Browser(gateway))
            {
                Assert.Contains("locked for", await SignInAsync(browser, "admin@localhost", adminPassword), StringComparison.Ordinal);
            }

            using (var browser = Browser(gateway))
            {
                await SignInAsync(browser, memberEmail, memberPassword);
                var audit = await browser.GetAsync("dashboard/audit");
                Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
                var html = await audit.Content.ReadAsStringAsync();
                Assert.Contains(workspace, html, StringComparison.Ordinal);
                Assert.Contains("Secret Detection", html, StringComparison.Ordinal);
                Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("dashboard/usage")).StatusCode);
            }

            // The same executable's commands, beside the running gateway: a policy file (unknown fields refused), and the
            // container's health probe.
            var good = Path.Combine(dataDir, "policy.json");
            await File.WriteAllTextAsync(good, $$"""{ "provider": "openai", "model": "{{FakeOpenAIServer.Models.EchoUser}}", "blocked_topics": [ { "name": "no-legal-advice", "keywords": ["lawsuit"] } ] }""");
            var typo = Path.Combine(dataDir, "typo.json");
            await File.WriteAllTextAsync(typo, """{ "provider": "openai", "model": "m", "blocked_topic": [] }""");
            var set = await GatewayProcess.RunCommandAsync(environment, "workspaces", "set-policy", "--name", workspace, "--file", good);
            var refused = await GatewayProcess.RunCommandAsync(environment, "workspaces", "set-policy", "--name", workspace, "--file", typo);
            var shown = await GatewayProcess.RunCommandAsync(environment, "workspaces", "show-policy", "--name", workspace);
            var health = await GatewayProcess.RunCommandAsync(environment, "healthcheck", "--url", gateway.BaseUrl + "/healthz");
            Assert.True(set.ExitCode == 0, set.Error);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("blocked_topic", refused.Error, StringComparison.Ordinal);
            Assert.Contains("\"no-legal-advice\"", shown.Output, StringComparison.Ordinal);
            Assert.True(health.ExitCode == 0, health.Output + health.Error);

            Assert.DoesNotContain(gateway.Output, line => line.Contains("Exception", StringComparison.Ordinal));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            await TestDatabase.DropAsync(dataDir);
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static async Task<JsonNode> SendAsync(HttpClient http, HttpMethod method, string path, JsonNode? body, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text is { Length: > 0 } ? text : "{}")!;
    }

    /// <summary>A client that keeps cookies and does not follow redirects, as the dashboard's forms need.</summary>
    private static HttpClient Browser(GatewayProcess gateway) =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = new Uri(gateway.BaseUrl + "/"),
            Timeout = TimeSpan.FromSeconds(30),
        };

    /// <summary>Signs in through the form (with its antiforgery token); returns the page shown on failure, "" on success.</summary>
    private static async Task<string> SignInAsync(HttpClient browser, string email, string password)
    {
        var form = await browser.GetStringAsync("dashboard/sign-in");
        var token = CsrfField().Match(form);
        Assert.True(token.Success, "no antiforgery field on the sign-in page");
        using var response = await browser.PostAsync("dashboard/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__csrf"] = WebUtility.HtmlDecode(token.Groups[1].Value),
            ["email"] = email,
            ["password"] = password,
        }));
        if (response.StatusCode == HttpStatusCode.Redirect)
        {
            return "";
        }

        return WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync());
    }

    [GeneratedRegex("""name="__csrf" value="([^"]+)""")]
    private static partial Regex CsrfField();
}
