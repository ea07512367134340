using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

[Collection(GatewayTests.Name)]
public sealed class ValidationTests(GatewayFixture gateway)
{
    // In the bodies below, MODEL stands for the caller's workspace and MARKER for a value unique to the test run,
    // placed where the gateway would forward it, so the upstream's log shows whether anything got through.
    private const string User = """{"role":"user","content":"MARKER"}""";

    public static TheoryData<string, string> InvalidBodies => new()
    {
        { $$"""{"model":"MODEL","messages":[{{User}}],"temperature":3}""", "temperature" },
        { $$"""{"model":"MODEL","messages":[{{User}}],"temperature":"hot"}""", "temperature" },
        { $$"""{"model":"MODEL","messages":[{{User}}],"top_p":1.5}""", "top_p" },
        { $$"""{"model":"MODEL","messages":[{{User}}],"n":0}""", "n" },
        { $$"""{"model":"MODEL","messages":[{{User}}],"max_tokens":0}""", "max_tokens" },
        { $$"""{"model":"MODEL","messages":[{{User}}],"presence_penalty":-3}""", "presence_penalty" },
        { """{"model":"MODEL","messages":[],"user":"MARKER"}""", "messages" },
        { """{"model":"MODEL","user":"MARKER"}""", "messages" },
        { $$"""{"messages":[{{User}}]}""", "model" },
        { """{"model":"MODEL","messages":[{"role":"wizard","content":"MARKER"}]}""", "messages[0].role" },
        { """{"model":"MODEL","messages":[{"role":"user","content":42}],"user":"MARKER"}""", "messages[0].content" },
        { """{"model":"MODEL","messages":[{"role":"user","content":[{"type":"banana","text":"MARKER"}]}]}""", "messages[0].content[0].type" },
        { """{"model":"MODEL","messages":[{"role":"user","content":[{"type":"text"}]}],"user":"MARKER"}""", "messages[0].content[0].text" },
        { $$"""{"model":"MODEL","messages":[{{User}},{"role":"tool","content":"42 degrees"}]}""", "messages[1].tool_call_id" },
        { $$"""{"model":"MODEL","messages":[{"role":"assistant"},{{User}}]}""", "messages[0].content" },
        { $$"""{"model":"MODEL","messages":[{{User}}],"pii":"maybe"}""", "pii" },
        { $$"""{"model":"MODEL","messages":[{{User}}],"stop":["a","b","c","d","e"]}""", "stop" },
        { $$$"""{"model":"MODEL","messages":[{{{User}}}],"stream_options":{"include_usage":true}}""", "stream_options" },
        { $$$"""{"model":"MODEL","messages":[{{{User}}}],"tools":[{"type":"banana","function":{"name":"lookup"}}]}""", "tools[0].type" },
        { $$$"""{"model":"MODEL","messages":[{{{User}}}],"tools":[{"type":"function","function":{"name":"get the weather"}}]}""", "tools[0].function.name" },
        { $$"""{"model":"MODEL","messages":[{{User}}],"tool_choice":"sometimes"}""", "tool_choice" },
        { $$$"""{"model":"MODEL","messages":[{{{User}}}],"response_format":{"type":"xml"}}""", "response_format.type" },
        { $$"""{"model":"MODEL","messages":[{{User}}],"top_logprobs":5}""", "top_logprobs" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task InvalidBody_Returns400NamingTheParam_AndNothingReachesUpstream(string template, string param)
    {
        var (key, model) = await CallerAsync();
        using var http = gateway.Http(key);
        var marker = $"marker-{Guid.NewGuid()}";
        var body = template.Replace("MODEL", model, StringComparison.Ordinal).Replace("MARKER", marker, StringComparison.Ordinal);

        var response = await http.PostAsync("api/v1/chat/completions", Json(body));

        var error = await AssertBadRequestAsync(response);
        Assert.Equal(param, error["param"]?.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()));
        Assert.DoesNotContain(gateway.Upstream.Requests, r => r.Body.Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task TemperatureOutOfRange_MessageStatesTheAllowedRange()
    {
        var (key, model) = await CallerAsync();
        using var http = gateway.Http(key);

        var response = await http.PostAsync("api/v1/chat/completions", Json(
            $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}],"temperature":3}"""));

        var error = await AssertBadRequestAsync(response);
        Assert.Equal("invalid_value", error["code"]!.GetValue<string>());
        var message = error["message"]!.GetValue<string>();
        Assert.Contains("temperature", message, StringComparison.Ordinal);
        Assert.Contains("between 0 and 2", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"temperature\":\"hot\"", "temperature", "a number")]
    [InlineData("\"n\":1.5", "n", "an integer")]
    [InlineData("\"max_tokens\":99999999999", "max_tokens", "an integer")]
    [InlineData("\"stream\":\"yes\"", "stream", "a boolean")]
    [InlineData("\"user\":42", "user", "a string")]
    [InlineData("\"tools\":{}", "tools", "an array")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":7}}]", "tools[0].function.name", "a string")]
    [InlineData("\"stream_options\":true", "stream_options", "an object")]
    public async Task WrongJsonType_MessageNamesTheExpectedType(string field, string param, string expected)
    {
        var (key, model) = await CallerAsync();
        using var http = gateway.Http(key);

        var response = await http.PostAsync("api/v1/chat/completions", Json(
            $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}],{{field}}}"""));

        var error = await AssertBadRequestAsync(response);
        Assert.Equal(param, error["param"]?.GetValue<string>());
        Assert.Equal("invalid_type", error["code"]!.GetValue<string>());
        Assert.Equal($"Invalid value for '{param}': expected {expected}.", error["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task WrongMessageShape_NamesTheMessage()
    {
        var (key, model) = await CallerAsync();
        using var http = gateway.Http(key);

        var response = await http.PostAsync("api/v1/chat/completions", Json($$"""{"model":"{{model}}","messages":["hi"]}"""));

        var error = await AssertBadRequestAsync(response);
        Assert.Equal("messages[0]", error["param"]?.GetValue<string>());
        Assert.Equal("Invalid value for 'messages[0]': expected an object.", error["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task MalformedJson_Returns400WithNullParamAndInvalidJsonCode()
    {
        var (key, _) = await CallerAsync();
        using var http = gateway.Http(key);

        var response = await http.PostAsync("api/v1/chat/completions", Json("""{"model":"""));

        var error = await AssertBadRequestAsync(response);
        Assert.Null(error["param"]);
        Assert.Equal("invalid_json", error["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task TruncatedJsonInsideMessages_Returns400WithNullParamAndInvalidJsonCode()
    {
        var (key, model) = await CallerAsync();
        using var http = gateway.Http(key);

        var response = await http.PostAsync("api/v1/chat/completions", Json($$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"""));

        var error = await AssertBadRequestAsync(response);
        Assert.Null(error["param"]);
        Assert.Equal("invalid_json", error["code"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("{\"model\":", 10)]
    [InlineData("{\"model\":\"m\",\n\"messages\":[}", 13)]
    public async Task MalformedJson_MessageSaysWhere(string body, int bytePosition)
    {
        var (key, _) = await CallerAsync();
        using var http = gateway.Http(key);

        var response = await http.PostAsync("api/v1/chat/completions", Json(body));

        var error = await AssertBadRequestAsync(response);
        var line = body.Count(c => c == '\n') + 1;
        Assert.Equal($"The request body is not valid JSON (line {line}, byte {bytePosition}).", error["message"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(" {\"a\":1}")]
    [InlineData("x")]
    [InlineData("]")]
    public async Task ContentAfterTheObject_Returns400InvalidJson_AndNothingIsSent(string trailing)
    {
        var (key, model) = await CallerAsync();
        using var http = gateway.Http(key);
        var marker = $"marker-{Guid.NewGuid()}";

        var response = await http.PostAsync("api/v1/chat/completions", Json(
            $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{marker}}"}]}""" + trailing));

        var error = await AssertBadRequestAsync(response);
        Assert.Equal("invalid_json", error["code"]!.GetValue<string>());
        Assert.StartsWith("The request body is not valid JSON (line 1, byte ", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Upstream.Requests, r => r.Body.Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task LargeBody_InManyReads_WithCharactersAcrossReadBoundaries_ArrivesIntact()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.EchoUser);
        using var http = gateway.Http(key);
        // ≈ 400 KB of two-, three- and four-byte characters: the body comes in many reads, cut inside characters.
        var text = ChatApi.NewMarker() + string.Concat(Enumerable.Range(0, 20_000).Select(i => $"é東🙂{i % 10} "));

        var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, text));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(text, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task DuplicateProperty_Returns400()
    {
        var (key, model) = await CallerAsync();
        using var http = gateway.Http(key);
        var marker = $"marker-{Guid.NewGuid()}";

        var response = await http.PostAsync("api/v1/chat/completions", Json(
            $$"""{"model":"{{model}}","model":"{{model}}","messages":[{"role":"user","content":"{{marker}}"}]}"""));

        var error = await AssertBadRequestAsync(response);
        Assert.Equal("model", error["param"]?.GetValue<string>());
        Assert.Contains("more than once", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Upstream.Requests, r => r.Body.Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ArrayBody_Returns400()
    {
        var (key, _) = await CallerAsync();
        using var http = gateway.Http(key);

        var response = await http.PostAsync("api/v1/chat/completions", Json("[]"));

        var error = await AssertBadRequestAsync(response);
        Assert.Null(error["param"]);
        Assert.Contains("JSON object", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NullBody_Returns400()
    {
        var (key, _) = await CallerAsync();
        using var http = gateway.Http(key);

        var response = await http.PostAsync("api/v1/chat/completions", Json("null"));

        var error = await AssertBadRequestAsync(response);
        Assert.Null(error["param"]);
        Assert.Equal("invalid_json", error["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task EmptyBody_Returns400()
    {
        var (key, _) = await CallerAsync();
        using var http = gateway.Http(key);

        var response = await http.PostAsync("api/v1/chat/completions", Json(""));

        var error = await AssertBadRequestAsync(response);
        Assert.Null(error["param"]);
        Assert.Equal("invalid_json", error["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task TextPlainContentType_Returns400UnsupportedContentType()
    {
        var (key, model) = await CallerAsync();
        using var http = gateway.Http(key);
        var marker = $"marker-{Guid.NewGuid()}";
        var body = $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{marker}}"}]}""";

        var response = await http.PostAsync("api/v1/chat/completions", new StringContent(body, Encoding.UTF8, "text/plain"));

        var error = await AssertBadRequestAsync(response);
        Assert.Equal("unsupported_content_type", error["code"]!.GetValue<string>());
        Assert.DoesNotContain(gateway.Upstream.Requests, r => r.Body.Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ContentAsArrayOfTextParts_Succeeds()
    {
        var (key, model) = await CallerAsync();
        using var http = gateway.Http(key);
        var marker = $"marker-{Guid.NewGuid()}";

        var response = await http.PostAsync("api/v1/chat/completions", Json(
            $$"""{"model":"{{model}}","messages":[{"role":"user","content":[{"type":"text","text":"first"},{"type":"text","text":"{{marker}}"}]}]}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var completion = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(FakeOpenAIServer.CompletionText, completion["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        var forwarded = gateway.Upstream.RequestWith(marker).Messages.Last()!["content"]!.AsArray();
        Assert.Equal(["first", marker], forwarded.Select(p => p!["text"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Sdk_TemperatureOutOfRange_GetsClientResultException400()
    {
        var workspace = await gateway.CreateWorkspaceAsync();
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        var marker = $"marker-{Guid.NewGuid()}";
        var chat = gateway.Sdk(key).GetChatClient(workspace.Name);

        var ex = await Assert.ThrowsAsync<ClientResultException>(
            () => chat.CompleteChatAsync([new UserChatMessage(marker)], new ChatCompletionOptions { Temperature = 3f }));

        Assert.Equal(400, ex.Status);
        Assert.Contains("temperature", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Upstream.Requests, r => r.Body.Contains(marker, StringComparison.Ordinal));
    }

    private async Task<(string Key, string Model)> CallerAsync()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        return (key, workspace.Name);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>Asserts a 400 in OpenAI's envelope (all four keys present) and returns the error object.</summary>
    private static async Task<JsonObject> AssertBadRequestAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"expected 400, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonNode.Parse(text)!["error"]!.AsObject();
        Assert.Equal(["code", "message", "param", "type"], error.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        return error;
    }
}
