using System.Net;
using System.Text.Json.Nodes;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

[Collection(GatewayTests.Name)]
public sealed class ModelsTests(GatewayFixture gateway)
{
    [Fact]
    public async Task ListModels_ReturnsExactlyTheCallersWorkspaces_InSeedShape()
    {
        var mine = await gateway.CreateWorkspaceAsync();
        var notMine = await gateway.CreateWorkspaceAsync();
        var (_, key) = await gateway.CreateCallerAsync(mine.Name, "default");

        using var http = gateway.Http(key);
        var json = JsonNode.Parse(await http.GetStringAsync("api/v1/models"))!;

        Assert.Equal("list", json["object"]!.GetValue<string>());
        var ids = json["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(new[] { "default", mine.Name }.Order(StringComparer.Ordinal), ids);
        Assert.DoesNotContain(notMine.Name, ids);

        var model = json["data"]!.AsArray().Single(m => m!["id"]!.GetValue<string>() == mine.Name)!.AsObject();
        Assert.Equal(["id", "object", "created", "owned_by", "root", "parent", "permission"], model.Select(p => p.Key));
        Assert.Equal("model", model["object"]!.GetValue<string>());
        Assert.Equal(mine.CreatedAt / 1000, model["created"]!.GetValue<long>());
        Assert.Equal("organization", model["owned_by"]!.GetValue<string>());
        Assert.Equal(mine.Name, model["root"]!.GetValue<string>());
        Assert.Null(model["parent"]);
        Assert.True(model.ContainsKey("parent"));
        Assert.Empty(model["permission"]!.AsArray());
    }

    [Fact]
    public async Task Sdk_ListsAndRetrievesWorkspacesAsModels()
    {
        var workspace = await gateway.CreateWorkspaceAsync();
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        var models = gateway.Sdk(key).GetOpenAIModelClient();

        var list = (await models.GetModelsAsync()).Value;
        var one = (await models.GetModelAsync(workspace.Name)).Value;

        Assert.Equal([workspace.Name], list.Select(m => m.Id));
        Assert.Equal(workspace.Name, one.Id);
        Assert.Equal("organization", one.OwnedBy);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(workspace.CreatedAt / 1000), one.CreatedAt);
    }

    [Fact]
    public async Task RetrieveModel_NotAMember_Returns404LikeUnknown()
    {
        var other = await gateway.CreateWorkspaceAsync();
        var (_, key) = await gateway.CreateCallerAsync("default");
        using var http = gateway.Http(key);

        var forbidden = await http.GetAsync($"api/v1/models/{other.Name}");
        var unknown = await http.GetAsync("api/v1/models/no-such-workspace");

        Assert.Equal(HttpStatusCode.NotFound, forbidden.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var forbiddenError = JsonNode.Parse(await forbidden.Content.ReadAsStringAsync())!["error"]!;
        var unknownError = JsonNode.Parse(await unknown.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("model_not_found", forbiddenError["code"]!.GetValue<string>());
        Assert.Equal("model_not_found", unknownError["code"]!.GetValue<string>());
        // Same wording apart from the name: nothing tells "exists but not yours" from "does not exist".
        Assert.Equal(unknownError["message"]!.GetValue<string>().Replace("no-such-workspace", "X", StringComparison.Ordinal),
            forbiddenError["message"]!.GetValue<string>().Replace(other.Name, "X", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MasterKey_SeesEveryWorkspace()
    {
        var workspace = await gateway.CreateWorkspaceAsync();
        using var http = gateway.Http(gateway.MasterKey);

        var ids = JsonNode.Parse(await http.GetStringAsync("api/v1/models"))!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>());

        Assert.Contains(workspace.Name, ids);
        Assert.Contains("default", ids);
    }

    [Fact]
    public async Task V1Alias_ServesTheSameApi()
    {
        var (_, key) = await gateway.CreateCallerAsync("default");
        using var http = gateway.Http(key);

        var response = await http.GetAsync("v1/models/default");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("default", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["id"]!.GetValue<string>());
    }
}
