using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Rampart.Tests.Guardrails;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Operations;

/// <summary>
/// The gateway in its own process with JSON logs: SIGTERM in the middle of a slow stream. The stream must finish whole,
/// readiness must turn 503 meanwhile, the process must exit cleanly, and the stream's audit record must be in the
/// database (written by the final flush, after the stream ended). Every log line must be JSON, carry the request id
/// when logged for a request, and never hold a key, a secret, PII or prompt text.
/// </summary>
[Trait("Gateway", "Process")]
public sealed class ShutdownAndLogTests
{
    private const int StreamChunks = 20;

    [Fact]
    public async Task Sigterm_DuringAStream_LetsItFinish_ThenFlushesItsAudit_AndLogsAreCleanJson()
    {
        await using var upstream = await SlowUpstream.StartAsync();
        var dataDir = Path.Combine(Path.GetTempPath(), "rampart-shutdown-" + Guid.NewGuid().ToString("N"));
        var masterKey = "test-master-" + Guid.NewGuid().ToString("N");
        var upstreamKey = "sk-test-upstream-" + Guid.NewGuid().ToString("N");
        var secret = "ghp_" + FakeSecrets.R("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36);
        var email = $"person.{Guid.NewGuid():N}@example.com";
        var marker = ChatApi.NewMarker();
        try
        {
            await using var gateway = await GatewayProcess.StartAsync(new Dictionary<string, string>
            {
                ["RAMPART_DATA_DIR"] = dataDir,
                ["RAMPART_MASTER_KEY"] = masterKey,
                ["OPENAI_API_KEY"] = upstreamKey,
                ["OPENAI_BASE_URL"] = upstream.BaseUrl + "/v1",
                ["RAMPART_LOG_FORMAT"] = "json",
                ["RAMPART_DRAIN_SECONDS"] = "20",
                ["RAMPART_SHUTDOWN_DELAY_SECONDS"] = "2",
                ["Rampart__Audit__FlushIntervalMilliseconds"] = "600000",
                // Everything Rampart logs, and ASP.NET Core's per-request routing lines, so there is a lot to check.
                ["Logging__LogLevel__Rampart"] = "Trace",
                ["Logging__LogLevel__Microsoft.AspNetCore.Routing"] = "Debug",
            });
            using var http = gateway.Http(masterKey);

            var blocked = await ChatApi.PostAsync(http, ChatApi.Request("default", $"{marker} deploy with {secret}"));
            var pii = ChatApi.Request("default", $"{marker} mail {email}");
            pii["pii"] = "obfuscate";
            var obfuscated = await ChatApi.PostAsync(http, pii);
            Assert.Equal(HttpStatusCode.BadRequest, blocked.StatusCode);
            Assert.Equal(HttpStatusCode.OK, obfuscated.StatusCode);

            using var stream = await ChatApi.SendStreamingAsync(http, ChatApi.Request("default", marker, stream: true));
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            var requestId = stream.Headers.GetValues("x-request-id").Single();
            var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
            var first = await reader.ReadLineAsync();
            Assert.StartsWith("data: ", first);

            gateway.Terminate();
            using (var probe = gateway.Http())
            {
                // The signal arrives a moment after kill(1) returns; during the shutdown delay the listener is still open.
                HttpResponseMessage readiness;
                while ((readiness = await probe.GetAsync("readyz")).StatusCode == HttpStatusCode.OK)
                {
                    readiness.Dispose();
                    await Task.Delay(20);
                }

                Assert.Equal(HttpStatusCode.ServiceUnavailable, readiness.StatusCode);
                Assert.Equal("draining", JsonNode.Parse(await readiness.Content.ReadAsStringAsync())!["reason"]!.GetValue<string>());
                readiness.Dispose();
            }

            var rest = await reader.ReadToEndAsync();
            var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(40));

            var events = ChatApi.SseData(first + "\n" + rest);
            Assert.Equal("[DONE]", events[^1]);
            var text = string.Concat(events.SkipLast(1).Select(e => JsonNode.Parse(e)!["choices"]![0]!["delta"]!["content"]?.GetValue<string>()));
            Assert.Equal(string.Concat(Enumerable.Range(0, StreamChunks).Select(i => $"Sentence {i}.")), text);
            Assert.Equal(0, exitCode);

            await using (var db = AuditGatewayFixture.OpenDatabase(Path.Combine(dataDir, "rampart.db")))
            {
                var row = await db.QuerySingleOrDefaultAsync<(string Outcome, long Status, long Stream)>(
                    "SELECT outcome, status, stream FROM audit_records WHERE id = @requestId", new { requestId });
                Assert.Equal(("ok", 200L, 1L), row);
                Assert.Equal(1, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_records WHERE outcome = 'blocked'"));
            }

            Assert.False(File.Exists(Path.Combine(dataDir, "audit-spool.jsonl")), "the audit records went to the spool instead of the database");
            AssertLogsAreCleanJson(gateway.Output, requestId, [secret, secret[4..], email, masterKey, upstreamKey, marker]);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static void AssertLogsAreCleanJson(IReadOnlyCollection<string> output, string streamRequestId, string[] forbidden)
    {
        var banner = false;
        var requestLines = 0;
        var requestIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in output)
        {
            foreach (var value in forbidden)
            {
                Assert.DoesNotContain(value, line, StringComparison.OrdinalIgnoreCase);
            }

            // The first-start credentials go straight to the console, as plain text between two rules, never through logging.
            if (line.StartsWith("====", StringComparison.Ordinal))
            {
                banner = !banner;
                continue;
            }

            if (banner || line.Length == 0)
            {
                continue;
            }

            var entry = JsonNode.Parse(line)!.AsObject();
            foreach (var field in new[] { "Timestamp", "LogLevel", "Category", "Message" })
            {
                Assert.True(entry.ContainsKey(field), $"no {field}: {line}");
            }

            var ids = entry["Scopes"]!.AsArray().OfType<JsonObject>().Where(s => s.ContainsKey("RequestId")).Select(s => s["RequestId"]!.GetValue<string>()).ToList();
            var category = entry["Category"]!.GetValue<string>();
            if (category.StartsWith("Microsoft.AspNetCore.Routing", StringComparison.Ordinal) || category == "Rampart.Operations.Readiness")
            {
                // Ours, once: ASP.NET Core's own per-request scope (with Kestrel's connection-based id) is switched off.
                Assert.True(ids.Count == 1, "not exactly one request id: " + line);
                var id = ids[0];
                Assert.StartsWith("req_", id);
                requestIds.Add(id);
                requestLines++;
            }
        }

        Assert.False(banner);
        Assert.True(requestLines > 5, $"only {requestLines} request log lines");
        Assert.Contains(streamRequestId, requestIds);
    }

    /// <summary>An OpenAI-compatible upstream that answers at once, or streams <see cref="StreamChunks"/> sentences 150 ms apart.</summary>
    private static class SlowUpstream
    {
        public static Task<LoopbackServer> StartAsync() => LoopbackServer.StartAsync(app => app.MapPost("/v1/chat/completions", HandleAsync));

        private static async Task HandleAsync(HttpContext http)
        {
            var request = await JsonNode.ParseAsync(http.Request.Body);
            var usage = new JsonObject { ["prompt_tokens"] = 5, ["completion_tokens"] = StreamChunks, ["total_tokens"] = 5 + StreamChunks };
            if (request!["stream"]?.GetValue<bool>() != true)
            {
                await http.Response.WriteAsJsonAsync(new JsonObject
                {
                    ["id"] = "chatcmpl-slow", ["object"] = "chat.completion", ["created"] = 1_700_000_000, ["model"] = "slow",
                    ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "Done." }, ["finish_reason"] = "stop" }),
                    ["usage"] = usage,
                });
                return;
            }

            http.Response.ContentType = "text/event-stream";
            for (var i = 0; i < StreamChunks; i++)
            {
                var chunk = new JsonObject
                {
                    ["id"] = "chatcmpl-slow", ["object"] = "chat.completion.chunk", ["created"] = 1_700_000_000, ["model"] = "slow",
                    ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = new JsonObject { ["content"] = $"Sentence {i}." }, ["finish_reason"] = null }),
                };
                await http.Response.WriteAsync($"data: {chunk.ToJsonString()}\n\n");
                await http.Response.Body.FlushAsync();
                await Task.Delay(150);
            }

            await http.Response.WriteAsync("data: " + JsonSerializer.Serialize(new { id = "chatcmpl-slow", @object = "chat.completion.chunk", created = 1_700_000_000, model = "slow",
                choices = new[] { new { index = 0, delta = new { }, finish_reason = "stop" } } }) + "\n\n");
            await http.Response.WriteAsync("data: [DONE]\n\n");
        }
    }
}
