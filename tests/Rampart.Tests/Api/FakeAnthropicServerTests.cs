using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

/// <summary>The fake refuses what Anthropic's API refuses, so the gateway's translation cannot pass by accident.</summary>
public sealed class FakeAnthropicServerTests : IAsyncLifetime
{
    private const string Key = "sk-ant-test-fake-self-check";
    private const string Valid = """{"model":"claude-fake-text","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""";

    private FakeAnthropicServer _fake = null!;

    public async Task InitializeAsync() => _fake = await FakeAnthropicServer.StartAsync(Key);

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    [Fact]
    public async Task ValidRequest_IsAnswered()
    {
        using var response = await PostAsync(Valid);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["type"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"model":"claude-fake-text","messages":[{"role":"user","content":"hi"}]}""", "max_tokens: Field required")]
    [InlineData("""{"model":"claude-fake-text","max_tokens":10,"messages":[{"role":"system","content":"be nice"},{"role":"user","content":"hi"}]}""", "Unexpected role \"system\"")]
    [InlineData("""{"model":"claude-fake-text","max_tokens":10,"messages":[{"role":"tool","content":"x"}]}""", "messages.0.role")]
    [InlineData("""{"model":"claude-fake-text","max_tokens":10,"temperature":1.5,"messages":[{"role":"user","content":"hi"}]}""", "temperature: Input should be less than or equal to 1")]
    [InlineData("""{"model":"claude-fake-text","max_tokens":10,"n":1,"messages":[{"role":"user","content":"hi"}]}""", "n: Extra inputs are not permitted")]
    [InlineData("""{"model":"claude-fake-text","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}""", "text content blocks must be non-empty")]
    [InlineData("""{"model":"claude-fake-text","max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":"next"}]}""", "`tool_use` ids were found without `tool_result` blocks")]
    [InlineData("""{"model":"claude-fake-text","max_tokens":10,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"nope"}]}]}""", "unexpected `tool_use_id`")]
    public async Task InvalidRequest_Returns400InvalidRequestError(string body, string message)
    {
        using var response = await PostAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("error", json["type"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", json["error"]!["type"]!.GetValue<string>());
        Assert.Contains(message, json["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "2023-06-01", HttpStatusCode.Unauthorized, "authentication_error")]
    [InlineData("sk-ant-wrong", "2023-06-01", HttpStatusCode.Unauthorized, "authentication_error")]
    [InlineData(Key, null, HttpStatusCode.BadRequest, "invalid_request_error")]
    public async Task MissingOrWrongHeaders_AreRefused(string? key, string? version, HttpStatusCode status, string type)
    {
        using var response = await PostAsync(Valid, key, version);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(type, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["type"]!.GetValue<string>());
    }

    private async Task<HttpResponseMessage> PostAsync(string body, string? key = Key, string? version = "2023-06-01")
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, _fake.BaseUrl + "/v1/messages") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Add("x-api-key", key);
        }

        if (version is not null)
        {
            request.Headers.Add("anthropic-version", version);
        }

        return await http.SendAsync(request);
    }
}
