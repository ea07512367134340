using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using Rampart.Audit;
using Rampart.Data;
using Rampart.Hosting;
using Rampart.Tests.Infrastructure;
using static Rampart.Tests.Infrastructure.Eventually;

namespace Rampart.Tests.Api;

/// <summary>A gateway that prepares one chat request at a time, lets one more wait, and only for two seconds.</summary>
public sealed class AdmissionGatewayFixture : GatewayFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Rampart:Admission:Concurrency"] = "1";
        settings["Rampart:Admission:QueueLength"] = "1";
        settings["Rampart:Admission:QueueTimeoutSeconds"] = "2";
    }

    internal Admission Admission => Services.GetRequiredService<Admission>();
}

[CollectionDefinition(Name)]
public sealed class AdmissionGatewayTests : ICollectionFixture<AdmissionGatewayFixture>
{
    public const string Name = "admission gateway";
}

/// <summary>
/// Admission control on a real Kestrel: a request whose body is still arriving holds the one place to be prepared,
/// so the others queue behind it, and beyond the queue are turned away with a 503 the OpenAI SDKs retry.
/// </summary>
[Collection(AdmissionGatewayTests.Name)]
public sealed class AdmissionTests(AdmissionGatewayFixture gateway)
{
    [Fact]
    public async Task AQueuedRequest_IsServedOnceThePlaceIsFree()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.EchoUser);
        using var http = gateway.Http(key);
        await using var held = await HoldThePlaceAsync(http, workspace.Name);

        var marker = ChatApi.NewMarker();
        var queued = ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, marker));
        await WaitUntilAsync(() => gateway.Admission.Queued == 1, "the second request never queued");
        await Task.Delay(200);
        Assert.False(queued.IsCompleted, "a queued request was answered while the place was taken");

        held.Release();
        using var first = await held.Response;
        using var second = await queued;

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Contains(marker, await second.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task BeyondTheQueue_Returns503WithRetryAfter_InTheErrorEnvelope_AndTheAuditSaysOverloaded()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);
        await using var held = await HoldThePlaceAsync(http, workspace.Name);
        var queued = ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker()));
        await WaitUntilAsync(() => gateway.Admission.Queued == 1, "the second request never queued");

        using var refused = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker()));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("The gateway is at capacity and its queue is full (1 waiting). Retry shortly.", (string?)error["message"]);
        Assert.Equal("server_error", (string?)error["type"]);
        Assert.Equal("server_overloaded", (string?)error["code"]);
        Assert.Equal(AuditOutcomes.Overloaded, await gateway.AuditColumnAsync<string>(refused, "outcome"));
        Assert.Equal(503, await gateway.AuditColumnAsync<int>(refused, "status"));

        held.Release();
        Assert.Equal(HttpStatusCode.OK, (await held.Response).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await queued).StatusCode);
    }

    [Fact]
    public async Task AWaitLongerThanTheQueueTimeout_Returns503()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);
        await using var held = await HoldThePlaceAsync(http, workspace.Name);

        var waited = System.Diagnostics.Stopwatch.StartNew();
        using var refused = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker()));
        waited.Stop();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.InRange(waited.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(15));
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("The gateway is at capacity: this request waited 2 s for its turn. Retry shortly.", (string?)error["message"]);
        // The limiter takes a timed-out waiter off its queue just after completing it, so this may lag the answer a little.
        await WaitUntilAsync(() => gateway.Admission.Queued == 0, "the timed-out request still counts as queued");

        held.Release();
        Assert.Equal(HttpStatusCode.OK, (await held.Response).StatusCode);
    }

    [Fact]
    public async Task ACallerWhoLeavesTheQueue_FreesItsPlaceInIt()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);
        await using var held = await HoldThePlaceAsync(http, workspace.Name);
        using var leave = new CancellationTokenSource();
        var leaving = ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker()), leave.Token);
        await WaitUntilAsync(() => gateway.Admission.Queued == 1, "the second request never queued");

        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaving);
        await WaitUntilAsync(() => gateway.Admission.Queued == 0, "the departed caller still holds its place in the queue");

        var next = ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker()));
        await WaitUntilAsync(() => gateway.Admission.Queued == 1, "the next request never queued");
        held.Release();
        Assert.Equal(HttpStatusCode.OK, (await next).StatusCode);
    }

    [Fact]
    public async Task ASlowUpload_HoldsNoPlace()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.EchoUser);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = new HeldBody(ChatApi.Request(workspace.Name, marker), sentFirst: 20);
        var uploading = http.PostAsync("api/v1/chat/completions", body);
        try
        {
            // Its first bytes are in; the rest has not come. Meanwhile others are prepared and answered.
            await WaitUntilAsync(() => gateway.Admission.Arriving == 1, "the gateway never saw the upload start");
            using var served = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker()));
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
            Assert.Equal(0, gateway.Admission.Preparing);
            Assert.False(uploading.IsCompleted);
        }
        finally
        {
            body.Release();
        }

        using var uploaded = await uploading;
        Assert.Equal(HttpStatusCode.OK, uploaded.StatusCode);
        Assert.Equal(0, gateway.Admission.Arriving);
        Assert.Contains(marker, await uploaded.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ARequestWaitingOnItsProvider_HoldsNoPlace()
    {
        var (hanging, hangKey) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.Hang);
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var hangHttp = gateway.Http(hangKey);
        using var http = gateway.Http(key);
        using var cancel = new CancellationTokenSource();
        var marker = ChatApi.NewMarker();

        var waiting = ChatApi.PostAsync(hangHttp, ChatApi.Request(hanging.Name, marker), cancel.Token);
        await WaitUntilAsync(() => gateway.Upstream.Requests.Any(r => r.Body.Contains(marker, StringComparison.Ordinal)), "the provider never got the request");
        using var served = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker()));

        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.False(waiting.IsCompleted);
        Assert.Equal(0, gateway.Admission.Preparing);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }

    [Fact]
    public async Task AnOpenStream_HoldsNoPlace()
    {
        var (slow, slowKey) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.SlowStream);
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var streamHttp = gateway.Http(slowKey);
        using var http = gateway.Http(key);

        using var stream = await ChatApi.SendStreamingAsync(streamHttp, ChatApi.Request(slow.Name, ChatApi.NewMarker(), stream: true));
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        Assert.StartsWith("data: ", await reader.ReadLineAsync());
        using var served = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker()));

        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal(0, gateway.Admission.Preparing);
    }

    [Fact]
    public async Task TheOpenAISdk_RetriesA503_AndGetsItsAnswer()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.EchoUser);
        using var http = gateway.Http(key);
        var overloadedBefore = await CountOverloadedAsync();
        var held = await HoldThePlaceAsync(http, workspace.Name);
        var queued = ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, ChatApi.NewMarker()));
        await WaitUntilAsync(() => gateway.Admission.Queued == 1, "the second request never queued");

        // The SDK's own retry policy (three retries, honouring Retry-After); the place frees up during its first wait.
        var sdk = new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl + "/api/v1") });
        var marker = ChatApi.NewMarker();
        var answer = sdk.GetChatClient(workspace.Name).CompleteChatAsync([new UserChatMessage(marker)]);
        await WaitUntilAsync(async () => await CountOverloadedAsync() > overloadedBefore, "the SDK's first attempt was not refused");
        await held.DisposeAsync();
        await queued;

        var completion = (await answer).Value;
        Assert.Contains(marker, completion.Content[0].Text);
    }

    [Theory]
    [InlineData("Rampart:Admission:Concurrency", "0", "Rampart:Admission:Concurrency must be at least 1; it is 0.")]
    [InlineData("Rampart:Admission:QueueLength", "-1", "Rampart:Admission:QueueLength must be 0 or more; it is -1.")]
    [InlineData("Rampart:Admission:QueueTimeoutSeconds", "0", "Rampart:Admission:QueueTimeoutSeconds must be more than 0 and at most 3600; it is 0.")]
    public void ABadSetting_StopsTheStart_NamingIt(string setting, string value, string message)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [setting] = value }).Build();

        var error = Assert.Throws<InvalidOperationException>(() => new Admission(configuration));

        Assert.Equal(message, error.Message);
    }

    private async Task<long> CountOverloadedAsync()
    {
        await gateway.Services.GetRequiredService<AuditWriter>().FlushAsync();
        await using var connection = await gateway.Services.GetRequiredService<Db>().OpenAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_records WHERE outcome = @outcome", new { outcome = AuditOutcomes.Overloaded });
    }

    /// <summary>
    /// Starts a chat request with a body larger than the arrival window that stops once more than the window has been
    /// sent, and returns once the gateway is preparing it (parsing, waiting for the rest).
    /// </summary>
    private async Task<HeldRequest> HoldThePlaceAsync(HttpClient http, string workspace)
    {
        Assert.Equal(0, gateway.Admission.Preparing);
        var large = ChatApi.Request(workspace, ChatApi.NewMarker() + " " + new string('a', Admission.ArrivalWindow + 64 * 1024));
        var body = new HeldBody(large, sentFirst: Admission.ArrivalWindow + 16 * 1024);
        var response = http.PostAsync("api/v1/chat/completions", body);
        await WaitUntilAsync(() => gateway.Admission.Preparing == 1, "the held request never took the place");
        return new HeldRequest(body, response);
    }

    private sealed class HeldRequest(HeldBody body, Task<HttpResponseMessage> response) : IAsyncDisposable
    {
        public Task<HttpResponseMessage> Response => response;

        public void Release() => body.Release();

        public async ValueTask DisposeAsync()
        {
            body.Release();
            (await response).Dispose();
        }
    }

    /// <summary>A JSON body sent in two parts, chunked: the second waits for <see cref="Release"/>.</summary>
    private sealed class HeldBody : HttpContent
    {
        private readonly byte[] _json;
        private readonly int _sentFirst;
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public HeldBody(JsonObject body, int sentFirst)
        {
            _json = Encoding.UTF8.GetBytes(body.ToJsonString());
            _sentFirst = sentFirst;
            Headers.ContentType = new("application/json");
        }

        public void Release() => _release.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(_json.AsMemory(0, _sentFirst));
            await stream.FlushAsync();
            await _release.Task;
            await stream.WriteAsync(_json.AsMemory(_sentFirst));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
