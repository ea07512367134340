using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Rampart.Tests.Guardrails;
using Rampart.Tests.Infrastructure;
using Rampart.Workspaces;

namespace Rampart.Tests.Api;

/// <summary>Secret and PII guardrails through the real HTTP API, checked at the fake upstream and in the logs.</summary>
[Collection(GatewayTests.Name)]
public sealed class GuardrailTests(GatewayFixture gateway)
{
    [Fact]
    public async Task SecretInAMessage_Blocks400_NamingKindAndLocation_AndNothingReachesTheProvider()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var marker = ChatApi.NewMarker();
        var token = "ghp_" + FakeSecrets.R("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36);

        var response = await Post(key, new
        {
            model = workspace.Name,
            messages = new object[]
            {
                new { role = "user", content = marker },
                new { role = "assistant", content = "ok" },
                new { role = "user", content = $"why does git push fail with {token}?" },
            },
        });
        var (body, error) = await ReadError(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("secret_detected", error["code"]!.GetValue<string>());
        Assert.Equal("messages[2].content", error["param"]!.GetValue<string>());
        Assert.Contains("Blocked by Secret Detection: GitHub token in messages[2].content", error["message"]!.GetValue<string>());
        Assert.DoesNotContain(token, body);
        Assert.DoesNotContain(token[4..], body);
        Assert.DoesNotContain(gateway.Upstream.Requests, r => r.Body.Contains(marker, StringComparison.Ordinal));
        Assert.StartsWith("github-token=1; action=block", response.Headers.GetValues("x-rampart-secrets").Single());
        Assert.DoesNotContain(token, gateway.Logs.All);
    }

    [Theory]
    [InlineData("system")]
    [InlineData("part")]
    [InlineData("tool-arguments")]
    [InlineData("tool-result")]
    public async Task SecretAnywhereTheCallerWrites_IsFound_WithItsLocation(string where)
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var secret = "AKIA" + FakeSecrets.R("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
        var text = $"deploy with {secret} now";
        object[] messages = where switch
        {
            "part" => [new { role = "user", content = new object[] { new { type = "text", text = "hello" }, new { type = "text", text } } }],
            "tool-arguments" =>
            [
                new { role = "user", content = "run it" },
                new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = "call_1", type = "function", function = new { name = "deploy", arguments = $"{{\"key\":\"{secret}\"}}" } } } },
                new { role = "tool", tool_call_id = "call_1", content = "done" },
            ],
            "tool-result" =>
            [
                new { role = "user", content = "run it" },
                new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = "call_1", type = "function", function = new { name = "env", arguments = "{}" } } } },
                new { role = "tool", tool_call_id = "call_1", content = text },
            ],
            _ => [new { role = "user", content = "hello" }],
        };
        object body = where == "system"
            ? new { model = workspace.Name, system = text, messages }
            : new { model = workspace.Name, messages };

        var (_, error) = await ReadError(await Post(key, body));

        var expected = where switch
        {
            "system" => "system",
            "part" => "messages[0].content[1].text",
            "tool-arguments" => "messages[1].tool_calls[0].function.arguments",
            _ => "messages[2].content",
        };
        Assert.Equal("secret_detected", error["code"]!.GetValue<string>());
        Assert.Equal(expected, error["param"]!.GetValue<string>());
        Assert.Contains($"AWS access key ID in {expected}", error["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task PiiObfuscate_TheProviderSeesPlaceholders_NeverTheValues()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var marker = ChatApi.NewMarker();
        const string email = "ann.lee@corp.example";
        const string card = "4242 4242 4242 4242";
        const string phone = "+44 20 7946 0958";

        var response = await Post(key, new
        {
            model = workspace.Name,
            pii = "obfuscate",
            messages = new[] { new { role = "user", content = $"{marker} mail {email}, card {card}, phone {phone}, ip 10.1.2.3" } },
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = gateway.Upstream.RequestWith(marker).Messages.Last()!["content"]!.GetValue<string>();
        Assert.Equal($"{marker} mail [REDACTED_EMAIL], card [REDACTED_CREDIT_CARD], phone [REDACTED_PHONE], ip [REDACTED_IP_ADDRESS]", sent);
        Assert.Equal("credit_card=1, email=1, ip_address=1, phone=1; action=obfuscate", response.Headers.GetValues("x-rampart-pii").Single());
        Assert.DoesNotContain(email, gateway.Logs.All);
        Assert.DoesNotContain(card, gateway.Logs.All);
    }

    [Fact]
    public async Task PiiBlock_Returns400_WithTypesAndLocationsOnly()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var marker = ChatApi.NewMarker();

        var response = await Post(key, new
        {
            model = workspace.Name,
            pii = "block",
            messages = new object[]
            {
                new { role = "user", content = marker },
                new { role = "user", content = new object[] { new { type = "text", text = "my SSN is 123-45-6789" } } },
            },
        });
        var (body, error) = await ReadError(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("pii_detected", error["code"]!.GetValue<string>());
        Assert.Equal("messages[1].content[0].text", error["param"]!.GetValue<string>());
        Assert.Contains("Blocked by PII Detection: SSN in messages[1].content[0].text", error["message"]!.GetValue<string>());
        Assert.DoesNotContain("123-45-6789", body);
        Assert.DoesNotContain(gateway.Upstream.Requests, r => r.Body.Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task PiiDisabled_PassesValuesUnchanged()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var marker = ChatApi.NewMarker();

        var response = await Post(key, new { model = workspace.Name, messages = new[] { new { role = "user", content = $"{marker} ann@corp.example" } } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("ann@corp.example", gateway.Upstream.RequestWith(marker).Body);
        Assert.False(response.Headers.Contains("x-rampart-pii"));
    }

    [Fact]
    public async Task WorkspaceMinimum_CannotBeLoweredByTheRequest()
    {
        var workspace = await gateway.Store.CreateWorkspaceAsync("pii-min-" + Guid.NewGuid().ToString("N")[..8],
            new WorkspacePolicy { Model = FakeOpenAIServer.Models.Echo, Pii = "obfuscate" }, default);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        var marker = ChatApi.NewMarker();

        var response = await Post(key, new { model = workspace.Name, pii = "disabled", messages = new[] { new { role = "user", content = $"{marker} ann@corp.example" } } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = gateway.Upstream.RequestWith(marker).Body;
        Assert.Contains("[REDACTED_EMAIL]", sent);
        Assert.DoesNotContain("ann@corp.example", sent);
    }

    [Fact]
    public async Task WorkspaceSecretRedaction_ForwardsThePlaceholderInstead()
    {
        var workspace = await gateway.Store.CreateWorkspaceAsync("redact-" + Guid.NewGuid().ToString("N")[..8],
            new WorkspacePolicy { Model = FakeOpenAIServer.Models.Echo, Secrets = "redact" }, default);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        var marker = ChatApi.NewMarker();
        var secret = "npm_" + FakeSecrets.R("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36);

        var response = await Post(key, new { model = workspace.Name, messages = new[] { new { role = "user", content = $"{marker} token {secret}" } } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"{marker} token [REDACTED_SECRET]", gateway.Upstream.RequestWith(marker).Messages.Last()!["content"]!.GetValue<string>());
        Assert.Equal("npm-access-token=1; action=redact", response.Headers.GetValues("x-rampart-secrets").Single());
    }

    [Fact]
    public async Task Sdk_GetsATypedErrorForABlockedSecret()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var chat = gateway.Sdk(key).GetChatClient(workspace.Name);
        var pem = $"-----BEGIN OPENSSH PRIVATE KEY-----\n{FakeSecrets.R("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 70)}\n-----END OPENSSH PRIVATE KEY-----";

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage($"is this key ok?\n{pem}")]));

        Assert.Equal(400, error.Status);
        Assert.Contains("Private key (PEM)", error.Message);
    }

    private async Task<HttpResponseMessage> Post(string key, object body)
    {
        using var http = gateway.Http(key);
        return await http.PostAsJsonAsync("api/v1/chat/completions", body);
    }

    private static async Task<(string Body, JsonNode Error)> ReadError(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        return (body, JsonNode.Parse(body)!["error"]!);
    }
}
