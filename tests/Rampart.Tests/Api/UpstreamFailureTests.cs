using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

[Collection(GatewayTests.Name)]
public sealed class UpstreamFailureTests(GatewayFixture gateway)
{
    private static readonly TimeSpan AbortWait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Upstream400_PassesStatusMessageParamAndCodeThrough()
    {
        using var response = await PostAsync(FakeOpenAIServer.Models.BadRequest);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("Invalid 'messages[0].content': string too long.", error.Text("message"));
        Assert.Equal("invalid_request_error", error.Text("type"));
        Assert.Equal("messages[0].content", error.Text("param"));
        Assert.Equal("string_above_max_length", error.Text("code"));
    }

    [Fact]
    public async Task Upstream429_Returns429WithRetryAfter()
    {
        using var response = await PostAsync(FakeOpenAIServer.Models.RateLimited);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("rate_limit_exceeded", error.Text("code"));
        Assert.Equal("Rate limit reached for requests.", error.Text("message"));
    }

    [Fact]
    public async Task Upstream500_Returns502UpstreamError()
    {
        using var response = await PostAsync(FakeOpenAIServer.Models.ServerError);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("upstream_error", error.Text("code"));
        Assert.Equal("api_error", error.Text("type"));
    }

    [Fact]
    public async Task Upstream401_Returns502UpstreamAuthFailed_NotTheCallersFault()
    {
        using var response = await PostAsync(FakeOpenAIServer.Models.Unauthorized);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("upstream_auth_failed", error.Text("code"));
        Assert.NotEqual("invalid_api_key", error.Text("code"));
        // The upstream's wording would mislead the caller into thinking their own key is wrong.
        Assert.DoesNotContain("sk-fake", error.Text("message"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpstreamHang_Returns504AfterTimeout_AndAbortsUpstreamCall()
    {
        var marker = ChatApi.NewMarker();
        var watch = Stopwatch.StartNew();

        using var response = await PostAsync(FakeOpenAIServer.Models.Hang, marker);

        watch.Stop();
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("upstream_timeout", (await ChatApi.ErrorAsync(response)).Text("code"));
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
        await gateway.Upstream.AbortedAsync(marker).WaitAsync(AbortWait);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UpstreamConnectionReset_Returns502(bool stream)
    {
        using var response = await PostAsync(FakeOpenAIServer.Models.Reset, stream: stream);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream_error", (await ChatApi.ErrorAsync(response)).Text("code"));
    }

    [Fact]
    public async Task UpstreamNonJsonBody_Returns502()
    {
        using var response = await PostAsync(FakeOpenAIServer.Models.Garbage);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("upstream_error", error.Text("code"));
        Assert.DoesNotContain("<html>", error.Text("message"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpstreamAnswerOver64MB_Returns502_WithoutBufferingIt()
    {
        var marker = ChatApi.NewMarker();

        using var response = await PostAsync(FakeOpenAIServer.Models.HugeAnswer, marker);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = await ChatApi.ErrorAsync(response);
        Assert.Equal("upstream_error", error.Text("code"));
        Assert.Contains("beyond the gateway's limits (64 MB of body", error.Text("message"), StringComparison.Ordinal);
        await gateway.Upstream.AbortedAsync(marker).WaitAsync(AbortWait);
    }

    [Fact]
    public async Task Stream_UpstreamHangsBeforeHeaders_Returns504Status()
    {
        var marker = ChatApi.NewMarker();
        var watch = Stopwatch.StartNew();

        using var response = await PostAsync(FakeOpenAIServer.Models.Hang, marker, stream: true);

        watch.Stop();
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("upstream_timeout", (await ChatApi.ErrorAsync(response)).Text("code"));
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
        await gateway.Upstream.AbortedAsync(marker).WaitAsync(AbortWait);
    }

    [Fact]
    public async Task Stream_UpstreamRejects_ReturnsItsStatusAsJson_NotAStream()
    {
        using var badRequest = await PostAsync(FakeOpenAIServer.Models.BadRequest, stream: true);
        using var rateLimited = await PostAsync(FakeOpenAIServer.Models.RateLimited, stream: true);

        Assert.Equal(HttpStatusCode.BadRequest, badRequest.StatusCode);
        Assert.Equal("string_above_max_length", (await ChatApi.ErrorAsync(badRequest)).Text("code"));
        Assert.Equal(HttpStatusCode.TooManyRequests, rateLimited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), rateLimited.Headers.RetryAfter?.Delta);
        Assert.Equal("rate_limit_exceeded", (await ChatApi.ErrorAsync(rateLimited)).Text("code"));
    }

    [Fact]
    public async Task Stream_UpstreamResetsMidway_RelaysDeltasThenErrorEventAndEnds()
    {
        var (events, status) = await StreamAsync(FakeOpenAIServer.Models.StreamThenReset, ChatApi.NewMarker());

        Assert.Equal(HttpStatusCode.OK, status);
        var error = JsonNode.Parse(events[^1])!["error"];
        Assert.NotNull(error);
        Assert.Equal("upstream_error", error.Text("code"));
        var deltas = events.SkipLast(1).Select(e => JsonNode.Parse(e)!["choices"]![0]!["delta"]!).ToList();
        Assert.Equal(3, deltas.Count);
        Assert.Equal(string.Concat(FakeOpenAIServer.StreamPieces.Take(2)), string.Concat(deltas.Select(d => d.Text("content"))));
        Assert.DoesNotContain("[DONE]", events);
    }

    [Fact]
    public async Task Stream_UpstreamStallsMidway_ErrorEventAfterIdleTimeout()
    {
        var marker = ChatApi.NewMarker();
        var watch = Stopwatch.StartNew();

        var (events, status) = await StreamAsync(FakeOpenAIServer.Models.StreamThenStall, marker);

        watch.Stop();
        Assert.Equal(HttpStatusCode.OK, status);
        var error = JsonNode.Parse(events[^1])!["error"];
        Assert.NotNull(error);
        Assert.Equal("upstream_timeout", error.Text("code"));
        Assert.Equal(3, events.Count - 1);
        Assert.DoesNotContain("[DONE]", events);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
        await gateway.Upstream.AbortedAsync(marker).WaitAsync(AbortWait);
    }

    [Fact]
    public async Task Stream_EventsSentBeforeTheProviderPauses_ReachTheCallerDuringThePause()
    {
        // Events that arrive together go out together, but none may wait for the provider's next one: the three events
        // sent before the stall must be at the caller long before the idle timeout's error event (2 s in these tests).
        var workspace = await gateway.CreateWorkspaceAsync(FakeOpenAIServer.Models.StreamThenStall);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        using var http = gateway.Http(key);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var response = await ChatApi.SendStreamingAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker(), stream: true), deadline.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(deadline.Token));
        var watch = Stopwatch.StartNew();
        var arrivals = new List<(string Data, TimeSpan At)>();

        while (await reader.ReadLineAsync(deadline.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                arrivals.Add((line["data: ".Length..], watch.Elapsed));
            }
        }

        Assert.Equal(4, arrivals.Count);
        Assert.All(arrivals.Take(3), a => Assert.Null(JsonNode.Parse(a.Data)!["error"]));
        Assert.Equal("upstream_timeout", JsonNode.Parse(arrivals[3].Data)!["error"].Text("code"));
        Assert.True(arrivals[3].At - arrivals[2].At > TimeSpan.FromSeconds(1),
            $"the third event arrived at {arrivals[2].At.TotalMilliseconds:F0} ms, the error at {arrivals[3].At.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task Stream_UpstreamErrorEvent_IsRelayedAsErrorEvent()
    {
        var (events, status) = await StreamAsync(FakeOpenAIServer.Models.StreamError, ChatApi.NewMarker());

        Assert.Equal(HttpStatusCode.OK, status);
        var error = JsonNode.Parse(events[^1])!["error"];
        Assert.NotNull(error);
        Assert.Equal("The model overloaded mid-stream.", error.Text("message"));
        Assert.Equal(3, events.Count - 1);
        Assert.All(events.SkipLast(1), e => Assert.Null(JsonNode.Parse(e)!["error"]));
        Assert.DoesNotContain("[DONE]", events);
    }

    [Fact]
    public async Task Stream_UpstreamEventThatNeverEnds_IsCutOffAt16MB_WithAnErrorEvent()
    {
        var marker = ChatApi.NewMarker();

        var (events, status) = await StreamAsync(FakeOpenAIServer.Models.StreamEndlessEvent, marker);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(3, events.Count - 1);
        Assert.All(events.SkipLast(1), e => Assert.Null(JsonNode.Parse(e)!["error"]));
        var error = JsonNode.Parse(events[^1])!["error"];
        Assert.NotNull(error);
        Assert.Contains("larger than 16 MB", error.Text("message"), StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", events);
        await gateway.Upstream.AbortedAsync(marker).WaitAsync(AbortWait);
    }

    [Theory]
    [InlineData(FakeOpenAIServer.Models.BadRequest, 400)]
    [InlineData(FakeOpenAIServer.Models.RateLimited, 429)]
    [InlineData(FakeOpenAIServer.Models.ServerError, 502)]
    [InlineData(FakeOpenAIServer.Models.Unauthorized, 502)]
    [InlineData(FakeOpenAIServer.Models.Hang, 504)]
    public async Task Sdk_UpstreamFailure_ThrowsClientResultExceptionWithStatus(string model, int status)
    {
        var workspace = await gateway.CreateWorkspaceAsync(model);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        var chat = gateway.Sdk(key).GetChatClient(workspace.Name);

        var ex = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync(new UserChatMessage(ChatApi.NewMarker())));

        Assert.Equal(status, ex.Status);
    }

    private async Task<HttpResponseMessage> PostAsync(string model, string? marker = null, bool stream = false)
    {
        var workspace = await gateway.CreateWorkspaceAsync(model);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        using var http = gateway.Http(key);
        var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, marker ?? ChatApi.NewMarker(), stream));
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    /// <summary>Streams a request to the end, failing if the whole read takes over 10 seconds (a hang).</summary>
    private async Task<(IReadOnlyList<string> Events, HttpStatusCode Status)> StreamAsync(string model, string marker)
    {
        var workspace = await gateway.CreateWorkspaceAsync(model);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        using var http = gateway.Http(key);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        using var response = await ChatApi.SendStreamingAsync(http, ChatApi.Request(workspace.Name, marker, stream: true), deadline.Token);
        var body = await response.Content.ReadAsStringAsync(deadline.Token);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return (ChatApi.SseData(body), response.StatusCode);
    }
}
