using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Operations;

/// <summary>
/// With <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set, the gateway pushes its meter and request spans to a real HTTP OTLP
/// receiver (http/protobuf on <c>/v1/metrics</c> and <c>/v1/traces</c>). Protobuf keeps strings as UTF-8 bytes, so
/// names and label values can be looked for in the bodies without decoding them.
/// Runs alone: the SDK listens to every meter named "Rampart" in the process, so the requests of gateways in tests
/// running beside it would fill its series limit (2,000 per metric) and push this gateway's series into the overflow.
/// </summary>
[Collection(RunsAlone.Name)]
public sealed class OtlpExportTests
{
    [Fact]
    public async Task OtlpEndpoint_ReceivesRequestMetrics_AndSpansWithoutPathsOrPrompts()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var gateway = new OtlpGatewayFixture(receiver.BaseUrl);
        await gateway.InitializeAsync();
        try
        {
            var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
            var marker = ChatApi.NewMarker();
            using var http = gateway.Http(key);

            using var chat = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, marker));
            using var model = await http.GetAsync($"api/v1/models/{workspace.Name}");
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
            Assert.Equal(HttpStatusCode.OK, model.StatusCode);

            var metrics = await receiver.WaitForAsync("/v1/metrics", body => body.Contains("rampart.requests", StringComparison.Ordinal) && body.Contains(workspace.Name, StringComparison.Ordinal));
            Assert.Equal("application/x-protobuf", metrics.ContentType);
            Assert.Contains("rampart.upstream.duration", metrics.Body, StringComparison.Ordinal);

            var requestId = model.Headers.GetValues("x-request-id").Single();
            var spans = await receiver.WaitForAsync("/v1/traces", body => body.Contains(requestId, StringComparison.Ordinal));
            Assert.Contains("GET /api/v1/models/{**name}", spans.Body, StringComparison.Ordinal);
            Assert.Equal("application/x-protobuf", spans.ContentType);
            foreach (var request in receiver.Received)
            {
                Assert.DoesNotContain(marker, request.Body, StringComparison.Ordinal);
                Assert.DoesNotContain(key, request.Body, StringComparison.Ordinal);
            }

            // The model's URL names the workspace; its span keeps the route template only.
            Assert.DoesNotContain(receiver.Received, r => r.Path == "/v1/traces" && r.Body.Contains($"/api/v1/models/{workspace.Name}", StringComparison.Ordinal));
        }
        finally
        {
            await gateway.DisposeAsync();
        }
    }

    private sealed class OtlpGatewayFixture(string endpoint) : GatewayFixture
    {
        protected override void Configure(Dictionary<string, string?> settings)
        {
            settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint;
            settings["OTEL_METRIC_EXPORT_INTERVAL"] = "200";
        }
    }

    private sealed record OtlpRequest(string Path, string? ContentType, string Body);

    /// <summary>Accepts OTLP/HTTP exports and keeps them; answers 200 with an empty (valid) protobuf response.</summary>
    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly ConcurrentQueue<OtlpRequest> _received = new();
        private LoopbackServer _server = null!;

        public string BaseUrl => _server.BaseUrl;

        public IReadOnlyCollection<OtlpRequest> Received => _received;

        public static async Task<OtlpReceiver> StartAsync()
        {
            var receiver = new OtlpReceiver();
            receiver._server = await LoopbackServer.StartAsync(app => app.MapPost("/v1/{signal}", async (HttpContext http) =>
            {
                using var body = new MemoryStream();
                await http.Request.Body.CopyToAsync(body);
                // Latin-1 maps every byte to one character, so UTF-8 strings inside the protobuf stay searchable.
                receiver._received.Enqueue(new OtlpRequest(http.Request.Path, http.Request.ContentType, Encoding.Latin1.GetString(body.ToArray())));
                http.Response.ContentType = "application/x-protobuf";
            }));
            return receiver;
        }

        public async Task<OtlpRequest> WaitForAsync(string path, Func<string, bool> match)
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline)
            {
                if (_received.FirstOrDefault(r => r.Path == path && match(r.Body)) is { } found)
                {
                    return found;
                }

                await Task.Delay(50);
            }

            throw new TimeoutException($"no matching export to {path} within 20 s; received: {string.Join(", ", _received.Select(r => r.Path))}");
        }

        public ValueTask DisposeAsync() => _server.DisposeAsync();
    }
}
