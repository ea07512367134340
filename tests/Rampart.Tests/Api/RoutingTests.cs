using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Rampart.Routing;
using Rampart.Tests.Infrastructure;
using Rampart.Tests.Operations;
using Rampart.Workspaces;
using Models = Rampart.Tests.Infrastructure.FakeOpenAIServer.Models;

namespace Rampart.Tests.Api;

/// <summary>A gateway with the production retry default, fast backoff and a circuit breaker that trips quickly.</summary>
public sealed class RoutingGatewayFixture : GatewayFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Rampart:Routing:Retries"] = "2";
        // Far above the workspace timeouts tested here, so that only the workspace's own deadline can explain a quick answer.
        settings["Rampart:Upstream:TimeoutSeconds"] = "30";
        settings["Rampart:Routing:BackoffMilliseconds"] = "20";
        settings["Rampart:CircuitBreaker:MinimumThroughput"] = "3";
        settings["Rampart:CircuitBreaker:FailureRatio"] = "0.5";
        settings["Rampart:CircuitBreaker:SamplingSeconds"] = "30";
        settings["Rampart:CircuitBreaker:BreakSeconds"] = "1";
    }
}

[CollectionDefinition(Name)]
public sealed class RoutingGatewayTests : ICollectionFixture<RoutingGatewayFixture>
{
    public const string Name = "routing gateway";
}

[Collection(RoutingGatewayTests.Name)]
public sealed class RoutingTests(RoutingGatewayFixture gateway)
{
    private async Task<(string Key, string Workspace)> Caller(string model, RoutingPolicy routing)
    {
        var workspace = await gateway.Store.CreateWorkspaceAsync("route-" + Guid.NewGuid().ToString("N")[..10],
            new WorkspacePolicy { Model = model, Persona = null, Routing = routing }, default);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        return (key, workspace.Name);
    }

    private async Task<HttpResponseMessage> Send((string Key, string Workspace) caller, string marker, bool stream = false)
    {
        var http = gateway.Http(caller.Key);
        return stream
            ? await ChatApi.SendStreamingAsync(http, ChatApi.Request(caller.Workspace, marker, stream: true))
            : await ChatApi.PostAsync(http, ChatApi.Request(caller.Workspace, marker));
    }

    [Fact]
    public async Task FlakyPrimary_IsRetried_ThenServes()
    {
        var caller = await Caller(Models.FlakyPrefix + "2", new RoutingPolicy { Retries = 2 });
        var marker = ChatApi.NewMarker();

        var response = await Send(caller, marker);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("3", response.Headers.GetValues("x-rampart-attempts").Single());
        Assert.Equal(3, gateway.Upstream.Calls(Models.FlakyPrefix + "2", marker));
    }

    [Fact]
    public async Task RateLimited_WaitsForRetryAfter_ThenServes()
    {
        var caller = await Caller(Models.RateLimitedOnce, new RoutingPolicy { Retries = 1 });
        var marker = ChatApi.NewMarker();
        var watch = Stopwatch.StartNew();

        var response = await Send(caller, marker);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(0.95), $"retried after {watch.Elapsed}, before the provider's Retry-After of 1 s");
        Assert.Equal(2, gateway.Upstream.Calls(Models.RateLimitedOnce, marker));
    }

    [Fact]
    public async Task FailingPrimary_FallsBackInOrder()
    {
        var caller = await Caller(Models.ServerError, new RoutingPolicy { Retries = 1, Fallbacks = ["nope/unknown", "openai/" + Models.Echo] });
        var marker = ChatApi.NewMarker();

        var response = await Send(caller, marker);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Models.Echo, response.Headers.GetValues("x-rampart-model").Single());
        Assert.Equal(FakeOpenAIServer.CompletionText, json["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        Assert.Equal(2, gateway.Upstream.Calls(Models.ServerError, marker));
        Assert.Equal(1, gateway.Upstream.Calls(Models.Echo, marker));
    }

    [Fact]
    public async Task WorkspaceTimeout_CutsAHangingPrimaryShort_AndFallsBack()
    {
        var caller = await Caller(Models.Hang, new RoutingPolicy { TimeoutSeconds = 0.5, Retries = 0, Fallbacks = ["openai/" + Models.Echo] });
        var marker = ChatApi.NewMarker();
        var watch = Stopwatch.StartNew();

        var response = await Send(caller, marker);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Models.Echo, response.Headers.GetValues("x-rampart-model").Single());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}: the workspace's 0.5 s timeout did not apply (the gateway's is 30 s)");
        await gateway.Upstream.AbortedAsync(marker).WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task CallersOwnBadRequest_IsNeitherRetriedNorFallenBack()
    {
        var caller = await Caller(Models.BadRequest, new RoutingPolicy { Retries = 2, Fallbacks = ["openai/" + Models.Echo] });
        var marker = ChatApi.NewMarker();

        var response = await Send(caller, marker);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(1, gateway.Upstream.Calls(Models.BadRequest, marker));
        Assert.Equal(0, gateway.Upstream.Calls(Models.Echo, marker));
    }

    [Fact]
    public async Task StreamThatFailsWhileOpening_IsRetried()
    {
        var caller = await Caller(Models.FlakyPrefix + "1", new RoutingPolicy { Retries = 1 });
        var marker = ChatApi.NewMarker();

        using var response = await Send(caller, marker, stream: true);
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal(2, gateway.Upstream.Calls(Models.FlakyPrefix + "1", marker));
    }

    [Fact]
    public async Task StreamThatFailsAfterItStarted_IsNotRetried_AndEndsWithAnErrorEvent()
    {
        var caller = await Caller(Models.StreamThenReset, new RoutingPolicy { Retries = 2, Fallbacks = ["openai/" + Models.Echo] });
        var marker = ChatApi.NewMarker();

        using var response = await Send(caller, marker, stream: true);
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(JsonNode.Parse(events[^1])!["error"]);
        Assert.Equal(1, gateway.Upstream.Calls(Models.StreamThenReset, marker));
        Assert.Equal(0, gateway.Upstream.Calls(Models.Echo, marker));
    }

    [Fact]
    public async Task CircuitBreaker_SkipsAFailingTarget_ThenProbesAndRecoversAfterTheBreak()
    {
        // Fails the first four calls with this marker, then answers; retries off so every request is one call.
        var primary = Models.FlakyPrefix + "4";
        var caller = await Caller(primary, new RoutingPolicy { Retries = 0, Fallbacks = ["openai/" + Models.Echo] });
        var marker = ChatApi.NewMarker();

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(Models.Echo, (await Send(caller, marker)).Headers.GetValues("x-rampart-model").Single());
        }

        Assert.Equal(3, gateway.Upstream.Calls(primary, marker));

        // Open: the primary is not even tried, and /metrics says so for this target only.
        Assert.Equal(Models.Echo, (await Send(caller, marker)).Headers.GetValues("x-rampart-model").Single());
        Assert.Equal(3, gateway.Upstream.Calls(primary, marker));
        Assert.Equal(1, await BreakerOpenAsync("openai", primary));
        Assert.Equal(0, await BreakerOpenAsync("openai", Models.Echo));

        // After the break one probe goes through; it fails (4th call), so the breaker opens again.
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        Assert.Equal(Models.Echo, (await Send(caller, marker)).Headers.GetValues("x-rampart-model").Single());
        Assert.Equal(4, gateway.Upstream.Calls(primary, marker));

        // The next probe succeeds and the primary serves again.
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        Assert.Equal(primary, (await Send(caller, marker)).Headers.GetValues("x-rampart-model").Single());
        Assert.Equal(primary, (await Send(caller, marker)).Headers.GetValues("x-rampart-model").Single());
        Assert.Equal(6, gateway.Upstream.Calls(primary, marker));
        Assert.Equal(0, await BreakerOpenAsync("openai", primary));
    }

    [Fact]
    public async Task OpenBreaker_SendsStraightToTheFallback_WithoutCallsOrRetries()
    {
        // Three failed calls (retries off) open the breaker of a target no other test uses.
        var primary = Models.FlakyPrefix + "9";
        var tripper = await Caller(primary, new RoutingPolicy { Retries = 0, Fallbacks = ["openai/" + Models.Echo] });
        var trippingMarker = ChatApi.NewMarker();
        for (var i = 0; i < 3; i++)
        {
            await Send(tripper, trippingMarker);
        }

        Assert.Equal(1, await BreakerOpenAsync("openai", primary));

        // A workspace that would retry the primary twice: while its breaker is open, the primary is neither called nor
        // retried, and the request goes to the fallback after no backoff at all — one provider call in all.
        var caller = await Caller(primary, new RoutingPolicy { Retries = 2, Fallbacks = ["openai/" + Models.Echo] });
        var marker = ChatApi.NewMarker();
        var response = await Send(caller, marker);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Models.Echo, response.Headers.GetValues("x-rampart-model").Single());
        Assert.Equal(0, gateway.Upstream.Calls(primary, marker));
        Assert.Equal(1, gateway.Upstream.Calls(Models.Echo, marker));
        using var admin = gateway.Http(gateway.MasterKey);
        JsonNode? record = null;
        await Eventually.WaitUntilAsync(async () =>
        {
            var page = JsonNode.Parse(await admin.GetStringAsync($"api/v1/audit?workspace={caller.Workspace}"))!;
            record = page["data"]!.AsArray().SingleOrDefault();
            return record is not null;
        }, "the request's audit record never appeared");
        Assert.Equal(1, record!["attempts"]!.GetValue<int>());
    }

    /// <summary>The target's <c>rampart_circuit_breaker_open</c> gauge (this fixture's /metrics needs no token); -1 when the target has none.</summary>
    private async Task<double> BreakerOpenAsync(string provider, string model)
    {
        var samples = PrometheusExposition.Parse(await gateway.Http().GetStringAsync("metrics"));
        return samples.TryGetValue(PrometheusExposition.Key("rampart_circuit_breaker_open", ("provider", provider), ("model", model)), out var value) ? value : -1;
    }
}
