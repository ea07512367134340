using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Rampart.Auth;
using Rampart.Workspaces;

namespace Rampart.Tests.Infrastructure;

/// <summary>A gateway for the management API tests: the audit writer writes when told, so audit queries see exactly what a test flushed.</summary>
public sealed class ManagementFixture : AuditGatewayFixture
{
    /// <summary>A new user with the given org role and one key, with the given roles in the given workspaces.</summary>
    internal async Task<(User User, string Key)> PersonAsync(string orgRole = OrgRoles.Member, params (Workspace Workspace, string Role)[] memberships)
    {
        var user = await Store.CreateUserAsync($"person-{Guid.NewGuid():N}@example.test", "Person", null, orgRole, default);
        foreach (var (workspace, role) in memberships)
        {
            await Store.AddMemberAsync(workspace.Id, user.Id, role, default);
        }

        var (_, key) = await Store.CreateKeyAsync(user.Id, "test key", null, default);
        return (user, key);
    }
}

[CollectionDefinition(Name)]
public sealed class ManagementTests : ICollectionFixture<ManagementFixture>
{
    public const string Name = "management";
}

/// <summary>Raw-HTTP helpers for the management API: JSON in, status and JSON out.</summary>
internal static class Mgmt
{
    public static async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpClient http, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            var json = body is JsonNode node ? node.ToJsonString() : body as string ?? throw new ArgumentException("body must be JSON", nameof(body));
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public static Task<(HttpStatusCode Status, JsonNode? Body)> GetAsync(HttpClient http, string path) => SendAsync(http, HttpMethod.Get, path);

    public static Task<(HttpStatusCode Status, JsonNode? Body)> PostAsync(HttpClient http, string path, object body) => SendAsync(http, HttpMethod.Post, path, body);

    public static Task<(HttpStatusCode Status, JsonNode? Body)> PutAsync(HttpClient http, string path, object body) => SendAsync(http, HttpMethod.Put, path, body);

    public static Task<(HttpStatusCode Status, JsonNode? Body)> DeleteAsync(HttpClient http, string path) => SendAsync(http, HttpMethod.Delete, path);

    /// <summary>Asserts an OpenAI error envelope with the status and returns its <c>error</c> object.</summary>
    public static JsonNode Error((HttpStatusCode Status, JsonNode? Body) response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.Status);
        var error = response.Body?["error"];
        Assert.NotNull(error);
        Assert.False(string.IsNullOrEmpty(error["message"]?.GetValue<string>()));
        Assert.NotNull(error["type"]);
        return error;
    }

    public static List<string> Strings(JsonNode? list, string property) =>
        [.. list!["data"]!.AsArray().Select(item => item![property]!.GetValue<string>())];
}
