using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;
using Rampart.Auth;
using Rampart.Data;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

[Collection(GatewayTests.Name)]
public sealed class AuthTests(GatewayFixture gateway)
{
    [Fact]
    public async Task MissingAuthorization_Returns401InOpenAIEnvelope()
    {
        using var http = gateway.Http();

        var response = await http.GetAsync("api/v1/models");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal(["error"], body.Select(p => p.Key));
        var error = body["error"]!.AsObject();
        Assert.Equal(["code", "message", "param", "type"], error.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.True(error.ContainsKey("param"));
        Assert.Null(error["param"]);
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal("invalid_api_key", error["code"]!.GetValue<string>());
        Assert.Contains("didn't provide an API key", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingAuthorization_OnChatCompletions_Returns401()
    {
        using var http = gateway.Http();

        var response = await http.PostAsync("api/v1/chat/completions", ChatBody("default", "hello"));

        await AssertInvalidApiKeyAsync(response);
    }

    [Fact]
    public async Task NonBearerScheme_Returns401()
    {
        var (_, key) = await gateway.CreateCallerAsync("default");
        using var http = gateway.Http();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("user:" + key)));

        var response = await http.GetAsync("api/v1/models");

        var message = await AssertInvalidApiKeyAsync(response);
        Assert.Contains("Bearer", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BearerWithAnEmptyKey_SaysTheKeyIsMissing()
    {
        using var http = gateway.Http();
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/models");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer ");

        var message = await AssertInvalidApiKeyAsync(await http.SendAsync(request));

        Assert.Contains("didn't provide an API key", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sk-proj-abcdefghijklmnopqrstuvwxyz")]
    [InlineData("rmp_tooshort")]
    [InlineData("not a key at all")]
    public async Task MalformedKey_Returns401(string key)
    {
        using var http = gateway.Http();
        http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + key);

        var response = await http.GetAsync("api/v1/models");

        var message = await AssertInvalidApiKeyAsync(response);
        Assert.Contains("rmp_", message, StringComparison.Ordinal);
        Assert.DoesNotContain(key, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownWellFormedKey_Returns401()
    {
        var key = ApiKeys.Generate().Key;
        using var http = gateway.Http(key);

        var models = await http.GetAsync("api/v1/models");
        var chat = await http.PostAsync("api/v1/chat/completions", ChatBody("default", "hello"));

        var message = await AssertInvalidApiKeyAsync(models);
        await AssertInvalidApiKeyAsync(chat);
        Assert.Contains("Incorrect API key", message, StringComparison.Ordinal);
        Assert.DoesNotContain(key, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevokedKey_Returns401OnTheVeryNextRequest()
    {
        var (user, key) = await gateway.CreateCallerAsync("default");
        using var http = gateway.Http(key);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/v1/models")).StatusCode);
        var record = Assert.Single(await gateway.Store.ListKeysAsync(user.Id, default));

        await gateway.Store.RevokeKeyAsync(record.Id, default);
        var response = await http.GetAsync("api/v1/models");

        var message = await AssertInvalidApiKeyAsync(response);
        Assert.Contains("revoked", message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ExpiredKey_Returns401MentioningExpiry()
    {
        var (user, _) = await gateway.CreateCallerAsync("default");
        var (_, expired) = await gateway.Store.CreateKeyAsync(user.Id, "expired key", DateTimeOffset.UtcNow.AddSeconds(-1), default);
        using var http = gateway.Http(expired);

        var response = await http.GetAsync("api/v1/models");

        var message = await AssertInvalidApiKeyAsync(response);
        Assert.Contains("expired", message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task KeyWithFutureExpiry_IsAccepted()
    {
        var (user, _) = await gateway.CreateCallerAsync("default");
        var (_, key) = await gateway.Store.CreateKeyAsync(user.Id, "expires later", DateTimeOffset.UtcNow.AddHours(1), default);
        using var http = gateway.Http(key);

        var response = await http.GetAsync("api/v1/models");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task DisabledUser_Returns401()
    {
        var (user, key) = await gateway.CreateCallerAsync("default");
        using var http = gateway.Http(key);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/v1/models")).StatusCode);

        await gateway.Store.SetUserDisabledAsync(user.Id, true, default);
        var models = await http.GetAsync("api/v1/models");
        var chat = await http.PostAsync("api/v1/chat/completions", ChatBody("default", "hello"));

        var message = await AssertInvalidApiKeyAsync(models);
        await AssertInvalidApiKeyAsync(chat);
        Assert.Contains("disabled", message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ReEnabledUser_IsAcceptedAgain()
    {
        var (user, key) = await gateway.CreateCallerAsync("default");
        using var http = gateway.Http(key);
        await gateway.Store.SetUserDisabledAsync(user.Id, true, default);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("api/v1/models")).StatusCode);

        await gateway.Store.SetUserDisabledAsync(user.Id, false, default);
        var response = await http.GetAsync("api/v1/models");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public void EveryApiEndpoint_RequiresAKey_ButTheOpenApiDocument()
    {
        // Keys are checked by our own middleware, on the endpoints that carry ApiKeyRequired: an endpoint added under
        // the API without it would be open. Every one must say which it is, and only the document may be open.
        var endpoints = gateway.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } path && Gateway.ApiPaths.IsApi(new PathString(path.StartsWith('/') ? path : "/" + path)))
            .ToList();

        var open = endpoints.Where(e => e.Metadata.GetMetadata<ApiKeyRequired>() is null).Select(e => e.RoutePattern.RawText).ToList();

        Assert.Contains(endpoints, e => e.RoutePattern.RawText == "/api/v1/chat/completions");
        Assert.Contains(endpoints, e => e.RoutePattern.RawText == "/v1/chat/completions");
        Assert.Contains(endpoints, e => e.RoutePattern.RawText == "/api/v1/keys/{id}");
        Assert.Equal(["/api/v1/openapi.json"], open);
        Assert.All(endpoints.Where(e => open.Contains(e.RoutePattern.RawText)), e => Assert.NotNull(e.Metadata.GetMetadata<IAllowAnonymous>()));
    }

    [Theory]
    [InlineData("GET", "api/v1/users")]
    [InlineData("POST", "api/v1/workspaces")]
    [InlineData("GET", "api/v1/audit")]
    [InlineData("GET", "v1/models")]
    public async Task ManagementAndAliasEndpoints_WithoutAKey_Return401WithTheBearerChallenge(string method, string path)
    {
        using var http = gateway.Http();

        var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? new StringContent("{}", Encoding.UTF8, "application/json") : null });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        Assert.Equal("invalid_api_key", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task UnknownApiUrl_WithoutAKey_Is404NotFound_AndTheOpenApiDocumentIsOpen()
    {
        using var http = gateway.Http();

        var unknown = await http.GetAsync("api/v1/no-such-thing");
        var document = await http.GetAsync("api/v1/openapi.json");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("unknown_url", JsonNode.Parse(await unknown.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
    }

    [Fact]
    public async Task MasterKey_IsAcceptedOnModelsAndChat()
    {
        var workspace = await gateway.CreateWorkspaceAsync();
        var marker = $"marker-{Guid.NewGuid()}";
        using var http = gateway.Http(gateway.MasterKey);

        var models = await http.GetAsync("api/v1/models");
        var chat = await http.PostAsync("api/v1/chat/completions", ChatBody(workspace.Name, marker));

        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.Equal("chat.completion", JsonNode.Parse(await chat.Content.ReadAsStringAsync())!["object"]!.GetValue<string>());
        // The gateway authenticates upstream with its own provider key, never the caller's.
        Assert.Equal("Bearer " + gateway.UpstreamKey, gateway.Upstream.RequestWith(marker).Authorization);
    }

    [Fact]
    public async Task Sdk_BadKey_GetsTypedClientResultException401()
    {
        var sdk = gateway.Sdk(ApiKeys.Generate().Key);

        var list = await Assert.ThrowsAsync<ClientResultException>(() => sdk.GetOpenAIModelClient().GetModelsAsync());
        var chat = await Assert.ThrowsAsync<ClientResultException>(
            () => sdk.GetChatClient("default").CompleteChatAsync([new UserChatMessage("hello")]));

        Assert.Equal(401, list.Status);
        Assert.Equal(401, chat.Status);
        Assert.Contains("invalid_api_key", chat.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sdk_ValidKey_CompletesChat()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var chat = gateway.Sdk(key).GetChatClient(workspace.Name);

        var completion = (await chat.CompleteChatAsync([new UserChatMessage("hello")])).Value;

        Assert.Equal(FakeOpenAIServer.CompletionText, Assert.Single(completion.Content).Text);
    }

    [Fact]
    public async Task EveryResponse_CarriesADistinctRequestId()
    {
        var (_, key) = await gateway.CreateCallerAsync("default");
        using var authed = gateway.Http(key);
        using var anonymous = gateway.Http();

        var responses = new[]
        {
            await authed.GetAsync("api/v1/models"),
            await authed.GetAsync("api/v1/models"),
            await anonymous.GetAsync("api/v1/models"),
            await authed.PostAsync("api/v1/chat/completions", new StringContent("{\"model\":", Encoding.UTF8, "application/json")),
            await authed.GetAsync("api/v1/no-such-endpoint"),
        };

        Assert.Equal(
            [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Unauthorized, HttpStatusCode.BadRequest, HttpStatusCode.NotFound],
            responses.Select(r => r.StatusCode));
        var ids = responses.Select(r => Assert.Single(r.Headers.GetValues("x-request-id"))).ToList();
        Assert.All(ids, id => Assert.StartsWith("req_", id, StringComparison.Ordinal));
        Assert.All(ids, id => Assert.True(id.Length > "req_".Length + 10, id));
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task ClientSuppliedRequestId_IsNotEchoed()
    {
        using var http = gateway.Http(gateway.MasterKey);
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/models");
        request.Headers.Add("x-request-id", "req_forged");

        var response = await http.SendAsync(request);

        var id = Assert.Single(response.Headers.GetValues("x-request-id"));
        Assert.StartsWith("req_", id, StringComparison.Ordinal);
        Assert.NotEqual("req_forged", id);
    }

    [Fact]
    public async Task KeyMintedByAnotherProcess_IsAcceptedOnFirstRequest()
    {
        var (user, _) = await gateway.CreateCallerAsync("default");
        // The CLI or another instance: same database, but its writes do not notify this gateway's cache.
        var otherProcess = new AccessStore(gateway.Store.Db, new AccessChangeSignal(), TimeProvider.System);
        var cache = gateway.Services.GetRequiredService<AccessCache>();
        // Catch-ups are spaced out globally; let any window opened by an earlier test's unknown key pass.
        await Task.Delay(TimeSpan.FromMilliseconds(300));

        var key = await MintUnseenKeyAsync(otherProcess, cache, user.Id);
        using var http = gateway.Http(key);
        var response = await http.GetAsync("api/v1/models");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task KeyUsage_CountsEveryAuthenticatedRequest()
    {
        const int requests = 3;
        var (user, key) = await gateway.CreateCallerAsync("default");
        var tracker = gateway.Services.GetRequiredService<KeyUsageTracker>();
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var http = gateway.Http(key);

        for (var i = 0; i < requests; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/v1/models")).StatusCode);
        }

        await tracker.FlushAsync(default);
        var record = await WaitForRequestCountAsync(user.Id, requests);

        Assert.Equal(requests, record.RequestCount);
        Assert.NotNull(record.LastUsedAt);
        Assert.InRange(record.LastUsedAt.Value, before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task KeyUsage_RejectedRequestsAreNotCounted()
    {
        var (user, key) = await gateway.CreateCallerAsync("default");
        var record = Assert.Single(await gateway.Store.ListKeysAsync(user.Id, default));
        var tracker = gateway.Services.GetRequiredService<KeyUsageTracker>();
        using var http = gateway.Http(key);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/v1/models")).StatusCode);
        await gateway.Store.RevokeKeyAsync(record.Id, default);

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("api/v1/models")).StatusCode);
        await tracker.FlushAsync(default);
        var after = await WaitForRequestCountAsync(user.Id, 1);

        Assert.Equal(1, after.RequestCount);
        Assert.Equal(0, tracker.PendingCount(record.Id));
    }

    /// <summary>
    /// A key written by <paramref name="otherProcess"/> that the gateway's cache does not hold yet. The cache also
    /// polls (every 200 ms in tests); should a poll pick the key up first, mint another so the request must catch up.
    /// </summary>
    private static async Task<string> MintUnseenKeyAsync(AccessStore otherProcess, AccessCache cache, string userId)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var (record, key) = await otherProcess.CreateKeyAsync(userId, "minted elsewhere", null, default);
            if (cache.Current.FindKey(record.KeyHash) is null)
            {
                return key;
            }
        }

        throw new InvalidOperationException("The cache's poll saw every freshly minted key first; cannot exercise the catch-up.");
    }

    /// <summary>
    /// The tracker's own timer may have taken the counts a moment before our flush and still be writing them;
    /// wait briefly for that write instead of racing it. Never accepts more than <paramref name="expected"/>.
    /// </summary>
    private async Task<ApiKeyRecord> WaitForRequestCountAsync(string userId, long expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            var record = Assert.Single(await gateway.Store.ListKeysAsync(userId, default));
            Assert.True(record.RequestCount <= expected, $"counted {record.RequestCount} requests, expected {expected}");
            if (record.RequestCount == expected || DateTime.UtcNow > deadline)
            {
                return record;
            }

            await Task.Delay(50);
        }
    }

    private static StringContent ChatBody(string model, string text) =>
        new(new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }),
        }.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>Asserts a 401 in OpenAI's envelope with code invalid_api_key and returns its message.</summary>
    private static async Task<string> AssertInvalidApiKeyAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.AsObject();
        Assert.Equal(["code", "message", "param", "type"], error.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Null(error["param"]);
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal("invalid_api_key", error["code"]!.GetValue<string>());
        var message = error["message"]!.GetValue<string>();
        Assert.False(string.IsNullOrWhiteSpace(message));
        return message;
    }
}
