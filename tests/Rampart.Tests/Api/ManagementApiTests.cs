using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Rampart.Auth;
using Rampart.Tests.Infrastructure;
using Rampart.Workspaces;

namespace Rampart.Tests.Api;

/// <summary>Users, workspaces, policy, members, credentials, keys and the OpenAPI document through the real HTTP API, role by role.</summary>
[Collection(ManagementTests.Name)]
public sealed class ManagementApiTests(ManagementFixture gateway)
{
    [Fact]
    public async Task Users_OrgAdminCreatesListsUpdatesDisables_NonAdminIsRefused()
    {
        using var admin = gateway.Http(gateway.MasterKey);
        var email = $"new-{Guid.NewGuid():N}@example.test";

        var created = await Mgmt.PostAsync(admin, "api/v1/users", new JsonObject { ["email"] = email, ["name"] = "New Person" });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var id = created.Body!["user"]!["id"]!.GetValue<string>();
        Assert.Equal(("member", "active"), (created.Body["user"]!["role"]!.GetValue<string>(), created.Body["user"]!["status"]!.GetValue<string>()));
        Assert.Equal(20, created.Body["password"]!.GetValue<string>().Length);

        // A chosen password is never echoed back.
        var chosen = await Mgmt.PostAsync(admin, "api/v1/users", new JsonObject { ["email"] = $"chosen-{Guid.NewGuid():N}@example.test", ["password"] = "a-long-enough-password" });
        Assert.Equal(HttpStatusCode.Created, chosen.Status);
        Assert.Null(chosen.Body!["password"]);

        Assert.Contains(email, Mgmt.Strings((await Mgmt.GetAsync(admin, "api/v1/users")).Body, "email"));

        var updated = await Mgmt.SendAsync(admin, HttpMethod.Patch, $"api/v1/users/{id}", new JsonObject { ["name"] = "Renamed", ["role"] = "admin" });
        Assert.Equal(HttpStatusCode.OK, updated.Status);
        Assert.Equal(("Renamed", "admin"), (updated.Body!["name"]!.GetValue<string>(), updated.Body["role"]!.GetValue<string>()));

        var disabled = await Mgmt.PostAsync(admin, $"api/v1/users/{id}/disable", "{}");
        Assert.Equal("disabled", disabled.Body!["status"]!.GetValue<string>());
        var enabled = await Mgmt.PostAsync(admin, $"api/v1/users/{id}/enable", "{}");
        Assert.Equal("active", enabled.Body!["status"]!.GetValue<string>());

        // Mistakes are 400s that say what is wrong, in OpenAI's envelope.
        var duplicate = Mgmt.Error(await Mgmt.PostAsync(admin, "api/v1/users", new JsonObject { ["email"] = email }), HttpStatusCode.BadRequest);
        Assert.Contains("already exists", duplicate["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var typo = Mgmt.Error(await Mgmt.PostAsync(admin, "api/v1/users", new JsonObject { ["emial"] = email }), HttpStatusCode.BadRequest);
        Assert.Contains("emial", typo["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Mgmt.Error(await Mgmt.PostAsync(admin, "api/v1/users", new JsonObject { ["email"] = "x@example.test", ["role"] = "owner" }), HttpStatusCode.BadRequest);

        var (_, memberKey) = await gateway.PersonAsync();
        using var member = gateway.Http(memberKey);
        var refused = Mgmt.Error(await Mgmt.PostAsync(member, "api/v1/users", new JsonObject { ["email"] = $"sneaky-{Guid.NewGuid():N}@example.test" }), HttpStatusCode.Forbidden);
        Assert.Equal(("permission_error", "org_admin_required"), (refused["type"]!.GetValue<string>(), refused["code"]!.GetValue<string>()));
        Mgmt.Error(await Mgmt.GetAsync(member, "api/v1/users"), HttpStatusCode.Forbidden);
        Mgmt.Error(await Mgmt.PostAsync(member, $"api/v1/users/{id}/disable", "{}"), HttpStatusCode.Forbidden);

        using var anonymous = gateway.Http();
        Assert.Equal("invalid_api_key", Mgmt.Error(await Mgmt.GetAsync(anonymous, "api/v1/users"), HttpStatusCode.Unauthorized)["code"]!.GetValue<string>());

        using var notJson = await admin.PostAsync("api/v1/users", new StringContent($$"""{"email":"{{email}}"}""", System.Text.Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, notJson.StatusCode);
        Assert.Equal("unsupported_content_type", (await ChatApi.ErrorAsync(notJson))["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task DisabledUser_KeysStopWorking()
    {
        var (user, key) = await gateway.PersonAsync();
        using var admin = gateway.Http(gateway.MasterKey);
        using var person = gateway.Http(key);
        Assert.Equal(HttpStatusCode.OK, (await Mgmt.GetAsync(person, "api/v1/keys")).Status);

        await Mgmt.PostAsync(admin, $"api/v1/users/{user.Id}/disable", "{}");
        Mgmt.Error(await Mgmt.GetAsync(person, "api/v1/keys"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Workspaces_CreateGetDelete_ByRole()
    {
        using var admin = gateway.Http(gateway.MasterKey);
        var name = "mgmt-" + Guid.NewGuid().ToString("N")[..10];
        var created = await Mgmt.PostAsync(admin, "api/v1/workspaces", new JsonObject
        {
            ["name"] = name,
            ["policy"] = new JsonObject { ["provider"] = "openai", ["model"] = FakeOpenAIServer.Models.Echo, ["pii"] = "obfuscate" },
        });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.Equal("obfuscate", created.Body!["policy"]!["pii"]!.GetValue<string>());
        var workspace = gateway.Services.GetRequiredService<AccessCache>().Current.FindWorkspace(name)!;

        var (_, wsAdminKey) = await gateway.PersonAsync(OrgRoles.Member, (workspace, WorkspaceRoles.Admin));
        var (_, memberKey) = await gateway.PersonAsync(OrgRoles.Member, (workspace, WorkspaceRoles.Member));
        var (_, outsiderKey) = await gateway.PersonAsync();
        using var wsAdmin = gateway.Http(wsAdminKey);
        using var member = gateway.Http(memberKey);
        using var outsider = gateway.Http(outsiderKey);

        // Members see the workspace but not its policy; admins see the policy; outsiders do not see it at all.
        Assert.Equal([name], Mgmt.Strings((await Mgmt.GetAsync(member, "api/v1/workspaces")).Body, "name"));
        var seen = await Mgmt.GetAsync(member, $"api/v1/workspaces/{name}");
        Assert.Equal(("member", null), (seen.Body!["your_role"]!.GetValue<string>(), seen.Body["policy"]));
        Assert.NotNull((await Mgmt.GetAsync(wsAdmin, $"api/v1/workspaces/{workspace.Id}")).Body!["policy"]);
        Assert.Equal("workspace_not_found", Mgmt.Error(await Mgmt.GetAsync(outsider, $"api/v1/workspaces/{name}"), HttpStatusCode.NotFound)["code"]!.GetValue<string>());
        Assert.Empty(Mgmt.Strings((await Mgmt.GetAsync(outsider, "api/v1/workspaces")).Body, "name"));
        Assert.Contains(name, Mgmt.Strings((await Mgmt.GetAsync(admin, "api/v1/workspaces")).Body, "name"));

        // Only org admins create and delete.
        Mgmt.Error(await Mgmt.PostAsync(wsAdmin, "api/v1/workspaces", new JsonObject { ["name"] = name + "-2" }), HttpStatusCode.Forbidden);
        Mgmt.Error(await Mgmt.DeleteAsync(wsAdmin, $"api/v1/workspaces/{name}"), HttpStatusCode.Forbidden);
        Mgmt.Error(await Mgmt.DeleteAsync(member, $"api/v1/workspaces/{name}"), HttpStatusCode.Forbidden);
        Assert.NotNull(gateway.Services.GetRequiredService<AccessCache>().Current.FindWorkspace(name));

        Assert.Equal(HttpStatusCode.NoContent, (await Mgmt.DeleteAsync(admin, $"api/v1/workspaces/{name}")).Status);
        Assert.Null(gateway.Services.GetRequiredService<AccessCache>().Current.FindWorkspace(name));
        Mgmt.Error(await Mgmt.GetAsync(admin, $"api/v1/workspaces/{name}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Policy_ReplacedWhole_InvalidRefusedAndOldKept_MembersCannotChangeIt()
    {
        var workspace = await gateway.CreateWorkspaceAsync();
        var (_, wsAdminKey) = await gateway.PersonAsync(OrgRoles.Member, (workspace, WorkspaceRoles.Admin));
        var (_, memberKey) = await gateway.PersonAsync(OrgRoles.Member, (workspace, WorkspaceRoles.Member));
        using var wsAdmin = gateway.Http(wsAdminKey);
        using var member = gateway.Http(memberKey);
        var path = $"api/v1/workspaces/{workspace.Name}/policy";

        var replaced = await Mgmt.PutAsync(wsAdmin, path, """{ "provider": "openai", "model": "gpt-4o", "pii": "block", "guideline": "Be brief." }""");
        Assert.Equal(HttpStatusCode.OK, replaced.Status);
        Assert.Equal(("gpt-4o", "block", "Be brief."), (replaced.Body!["model"]!.GetValue<string>(), replaced.Body["pii"]!.GetValue<string>(), replaced.Body["guideline"]!.GetValue<string>()));

        // Invalid: the problem is named and the stored policy is the one before.
        var invalid = Mgmt.Error(await Mgmt.PutAsync(wsAdmin, path, """{ "provider": "openai", "model": "gpt-4o", "pii": "sometimes" }"""), HttpStatusCode.BadRequest);
        Assert.Contains("pii must be one of", invalid["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("invalid_policy", invalid["code"]!.GetValue<string>());
        var typo = Mgmt.Error(await Mgmt.PutAsync(wsAdmin, path, """{ "blocked_topic": [] }"""), HttpStatusCode.BadRequest);
        Assert.Contains("blocked_topic", typo["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var stored = gateway.Services.GetRequiredService<AccessCache>().Current.FindWorkspace(workspace.Name)!.Policy;
        Assert.Equal(("gpt-4o", "block", "Be brief."), (stored.Model, stored.Pii, stored.Guideline));
        Assert.Equal("block", (await Mgmt.GetAsync(wsAdmin, path)).Body!["pii"]!.GetValue<string>());

        Assert.Equal("workspace_admin_required", Mgmt.Error(await Mgmt.PutAsync(member, path, """{ "pii": "disabled" }"""), HttpStatusCode.Forbidden)["code"]!.GetValue<string>());
        Mgmt.Error(await Mgmt.GetAsync(member, path), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Members_WorkspaceAdminManages_MemberCannot()
    {
        var workspace = await gateway.CreateWorkspaceAsync();
        var (wsAdminUser, wsAdminKey) = await gateway.PersonAsync(OrgRoles.Member, (workspace, WorkspaceRoles.Admin));
        var (memberUser, memberKey) = await gateway.PersonAsync(OrgRoles.Member, (workspace, WorkspaceRoles.Member));
        var (newcomer, _) = await gateway.PersonAsync();
        using var wsAdmin = gateway.Http(wsAdminKey);
        using var member = gateway.Http(memberKey);
        var path = $"api/v1/workspaces/{workspace.Name}/members";

        Assert.Equal(
            new[] { wsAdminUser.Email, memberUser.Email }.Order(StringComparer.Ordinal),
            Mgmt.Strings((await Mgmt.GetAsync(wsAdmin, path)).Body, "email"));

        var added = await Mgmt.PostAsync(wsAdmin, path, new JsonObject { ["user"] = newcomer.Email });
        Assert.Equal(HttpStatusCode.OK, added.Status);
        Assert.Contains(newcomer.Id, Mgmt.Strings(added.Body, "user_id"));

        var promoted = await Mgmt.PutAsync(wsAdmin, $"{path}/{newcomer.Id}", new JsonObject { ["role"] = "admin" });
        Assert.Equal("admin", promoted.Body!["data"]!.AsArray().Single(m => m!["user_id"]!.GetValue<string>() == newcomer.Id)!["role"]!.GetValue<string>());
        Mgmt.Error(await Mgmt.PutAsync(wsAdmin, $"{path}/{newcomer.Id}", new JsonObject { ["role"] = "owner" }), HttpStatusCode.BadRequest);
        Mgmt.Error(await Mgmt.PostAsync(wsAdmin, path, new JsonObject { ["user"] = "nobody@example.test" }), HttpStatusCode.NotFound);

        // A plain member can neither read nor change the member list.
        Mgmt.Error(await Mgmt.GetAsync(member, path), HttpStatusCode.Forbidden);
        Mgmt.Error(await Mgmt.PostAsync(member, path, new JsonObject { ["user"] = newcomer.Email, ["role"] = "admin" }), HttpStatusCode.Forbidden);
        Mgmt.Error(await Mgmt.PutAsync(member, $"{path}/{memberUser.Id}", new JsonObject { ["role"] = "admin" }), HttpStatusCode.Forbidden);
        Mgmt.Error(await Mgmt.DeleteAsync(member, $"{path}/{wsAdminUser.Id}"), HttpStatusCode.Forbidden);

        Assert.Equal(HttpStatusCode.NoContent, (await Mgmt.DeleteAsync(wsAdmin, $"{path}/{newcomer.Id}")).Status);
        Assert.DoesNotContain(newcomer.Id, Mgmt.Strings((await Mgmt.GetAsync(wsAdmin, path)).Body, "user_id"));
        Mgmt.Error(await Mgmt.DeleteAsync(wsAdmin, $"{path}/{newcomer.Id}"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Credentials_StoredEncrypted_NeverReturned_AdminOnly()
    {
        var workspace = await gateway.CreateWorkspaceAsync();
        var (_, wsAdminKey) = await gateway.PersonAsync(OrgRoles.Member, (workspace, WorkspaceRoles.Admin));
        var (_, memberKey) = await gateway.PersonAsync(OrgRoles.Member, (workspace, WorkspaceRoles.Member));
        using var wsAdmin = gateway.Http(wsAdminKey);
        using var member = gateway.Http(memberKey);
        var providerKey = "sk-workspace-secret-" + Guid.NewGuid().ToString("N");
        var path = $"api/v1/workspaces/{workspace.Name}/credentials";

        var (status, body) = await Mgmt.PutAsync(wsAdmin, $"{path}/openai", new JsonObject { ["api_key"] = providerKey, ["base_url"] = gateway.Upstream.BaseUrl });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("…" + providerKey[^4..], body!["key_hint"]!.GetValue<string>());
        Assert.DoesNotContain(providerKey, body.ToJsonString(), StringComparison.Ordinal);

        var listed = await Mgmt.GetAsync(wsAdmin, path);
        Assert.Equal(["openai"], Mgmt.Strings(listed.Body, "provider"));
        Assert.DoesNotContain(providerKey[4..], listed.Body!.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(providerKey, (await Mgmt.GetAsync(wsAdmin, $"api/v1/workspaces/{workspace.Name}")).Body!.ToJsonString(), StringComparison.Ordinal);

        // Encrypted at rest: the snapshot holds a protected value that is not the key.
        var stored = gateway.Services.GetRequiredService<AccessCache>().Current.CredentialFor(workspace.Id, "openai")!;
        Assert.DoesNotContain(providerKey, stored.ApiKeyProtected!, StringComparison.Ordinal);

        Mgmt.Error(await Mgmt.GetAsync(member, path), HttpStatusCode.Forbidden);
        Mgmt.Error(await Mgmt.PutAsync(member, $"{path}/openai", new JsonObject { ["api_key"] = "sk-other" }), HttpStatusCode.Forbidden);
        Mgmt.Error(await Mgmt.PutAsync(wsAdmin, $"{path}/nosuchprovider", new JsonObject { ["api_key"] = "sk-other" }), HttpStatusCode.BadRequest);

        Assert.Equal(HttpStatusCode.NoContent, (await Mgmt.DeleteAsync(wsAdmin, $"{path}/openai")).Status);
        Assert.Empty(Mgmt.Strings((await Mgmt.GetAsync(wsAdmin, path)).Body, "provider"));
    }

    [Fact]
    public async Task Keys_SelfService_CreateShownOnce_ListWithUsage_Revoke()
    {
        var (workspace, _) = await gateway.CreateWorkspaceWithCallerAsync();
        var (user, firstKey) = await gateway.PersonAsync(OrgRoles.Member, (workspace, WorkspaceRoles.Member));
        var (other, otherKey) = await gateway.PersonAsync();
        using var me = gateway.Http(firstKey);

        var created = await Mgmt.PostAsync(me, "api/v1/keys", new JsonObject { ["name"] = "laptop", ["expires_in_days"] = 30 });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var key = created.Body!["key"]!.GetValue<string>();
        var keyId = created.Body["info"]!["id"]!.GetValue<string>();
        Assert.StartsWith(created.Body["info"]!["prefix"]!.GetValue<string>(), key, StringComparison.Ordinal);
        Assert.NotNull(created.Body["info"]!["expires_at"]);

        // The new key works, and its use shows in the list (pending counts included) without the value.
        using (var laptop = gateway.Http(key))
        {
            using var answer = await ChatApi.PostAsync(laptop, ChatApi.Request(workspace.Name, "hi"));
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        var listed = (await Mgmt.GetAsync(me, "api/v1/keys")).Body!;
        Assert.DoesNotContain(key, listed.ToJsonString(), StringComparison.Ordinal);
        var row = listed["data"]!.AsArray().Single(k => k!["id"]!.GetValue<string>() == keyId)!;
        Assert.Equal(("laptop", 1L, "active"), (row["name"]!.GetValue<string>(), row["request_count"]!.GetValue<long>(), row["status"]!.GetValue<string>()));
        Assert.NotNull(row["last_used_at"]);
        Assert.All(listed["data"]!.AsArray(), k => Assert.Equal(user.Id, k!["user_id"]!.GetValue<string>()));

        // Not someone else's keys: not listed, not revocable, not creatable.
        var (otherRecord, _) = await gateway.Store.CreateKeyAsync(other.Id, "theirs", null, default);
        Mgmt.Error(await Mgmt.GetAsync(me, $"api/v1/keys?user_id={other.Id}"), HttpStatusCode.Forbidden);
        Mgmt.Error(await Mgmt.GetAsync(me, "api/v1/keys?all=true"), HttpStatusCode.Forbidden);
        Mgmt.Error(await Mgmt.DeleteAsync(me, $"api/v1/keys/{otherRecord.Id}"), HttpStatusCode.NotFound);
        Mgmt.Error(await Mgmt.PostAsync(me, "api/v1/keys", new JsonObject { ["name"] = "for them", ["user_id"] = other.Id }), HttpStatusCode.Forbidden);
        using (var them = gateway.Http(otherKey))
        {
            Assert.Equal(HttpStatusCode.OK, (await Mgmt.GetAsync(them, "api/v1/keys")).Status);
        }

        var revoked = await Mgmt.DeleteAsync(me, $"api/v1/keys/{keyId}");
        Assert.Equal("revoked", revoked.Body!["status"]!.GetValue<string>());
        using (var laptop = gateway.Http(key))
        {
            Mgmt.Error(await Mgmt.GetAsync(laptop, "api/v1/keys"), HttpStatusCode.Unauthorized);
        }

        // Org admins see and revoke anyone's.
        using var admin = gateway.Http(gateway.MasterKey);
        Assert.Contains(otherRecord.Id, Mgmt.Strings((await Mgmt.GetAsync(admin, $"api/v1/keys?user_id={other.Id}")).Body, "id"));
        Assert.Contains(otherRecord.Id, Mgmt.Strings((await Mgmt.GetAsync(admin, "api/v1/keys?all=true")).Body, "id"));
        Assert.Equal("revoked", (await Mgmt.DeleteAsync(admin, $"api/v1/keys/{otherRecord.Id}")).Body!["status"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Created, (await Mgmt.PostAsync(admin, "api/v1/keys", new JsonObject { ["name"] = "issued", ["user_id"] = other.Id })).Status);
        Mgmt.Error(await Mgmt.PostAsync(admin, "api/v1/keys", new JsonObject { ["name"] = "mine" }), HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("api/v1/users", """{"email":"nul-name@example.test","name":"Ann\u0000Lee"}""", "name")]
    [InlineData("api/v1/users", """{"email":"nul\u0000mail@example.test"}""", "email")]
    [InlineData("api/v1/keys", """{"name":"ci\u0000key"}""", "name")]
    public async Task BodyTextHoldingNul_Is400NamingTheField_AndNothingIsCreated(string path, string body, string field)
    {
        using var admin = gateway.Http(gateway.MasterKey);
        var usersBefore = Mgmt.Strings((await Mgmt.GetAsync(admin, "api/v1/users")).Body, "email");

        var error = Mgmt.Error(await Mgmt.PostAsync(admin, path, body), HttpStatusCode.BadRequest);

        Assert.Equal("invalid_json", error["code"]!.GetValue<string>());
        Assert.Contains("U+0000", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(field, error["param"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(usersBefore, Mgmt.Strings((await Mgmt.GetAsync(admin, "api/v1/users")).Body, "email"));
    }

    [Theory]
    [InlineData("api/v1/keys?user_id=a%00b", "user_id")]
    [InlineData("api/v1/audit?workspace=a%00b", "workspace")]
    [InlineData("api/v1/usage?user_id=a%00b", "user_id")]
    public async Task QueryHoldingNul_Is400NamingIt(string path, string param)
    {
        using var admin = gateway.Http(gateway.MasterKey);

        var error = Mgmt.Error(await Mgmt.GetAsync(admin, path), HttpStatusCode.BadRequest);

        Assert.Equal(param, error["param"]!.GetValue<string>());
        Assert.Contains("U+0000", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PathHoldingNul_IsRefusedByTheServer_BeforeAnyLookup()
    {
        using var admin = gateway.Http(gateway.MasterKey);

        var response = await Mgmt.DeleteAsync(admin, "api/v1/keys/key%00x");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
    }

    [Fact]
    public async Task OpenApiDocument_IsServed_AndListsManagementAndChatPaths()
    {
        using var anonymous = gateway.Http();
        var (status, document) = await Mgmt.GetAsync(anonymous, "api/v1/openapi.json");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("3.", document!["openapi"]!.GetValue<string>(), StringComparison.Ordinal);
        var paths = document["paths"]!.AsObject().Select(p => p.Key).ToList();
        foreach (var expected in (string[])[
            "/api/v1/chat/completions", "/api/v1/models", "/api/v1/users", "/api/v1/users/{id}", "/api/v1/workspaces", "/api/v1/workspaces/{workspace}/policy",
            "/api/v1/workspaces/{workspace}/members", "/api/v1/workspaces/{workspace}/credentials/{provider}", "/api/v1/keys", "/api/v1/keys/{id}",
            "/api/v1/audit", "/api/v1/audit/export", "/api/v1/usage"])
        {
            Assert.Contains(expected, paths);
        }

        // Schemas use the wire names.
        Assert.Contains("\"request_count\"", document.ToJsonString(), StringComparison.Ordinal);
    }
}
