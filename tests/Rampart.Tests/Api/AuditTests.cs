using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Rampart.Audit;
using Rampart.Auth;
using Rampart.Routing;
using Rampart.Tests.Guardrails;
using Rampart.Tests.Infrastructure;
using Rampart.Workspaces;

namespace Rampart.Tests.Api;

/// <summary>The audit log through the real HTTP API: one record per request whatever happened, nothing sensitive, nothing lost.</summary>
[Collection(AuditGatewayTests.Name)]
public sealed class AuditTests(AuditGatewayFixture gateway)
{
    private static readonly int StreamedChars = FakeOpenAIServer.StreamPieces.Sum(p => p.Length);

    [Fact]
    public async Task MixedOutcomes_GiveExactlyOneRecordEach_WithStatusOutcomeVerdictsAndUsage()
    {
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var caller = await CallerOfAsync(key);
        var expected = new Dictionary<string, Action<AuditRow>>();
        using var http = gateway.Http(key);

        async Task Send(HttpClient client, JsonObject body, HttpStatusCode status, Action<AuditRow> check)
        {
            using var response = await ChatApi.PostAsync(client, body);
            await response.Content.ReadAsStringAsync();
            Assert.Equal(status, response.StatusCode);
            expected.Add(RequestId(response), check);
        }

        // 1. A plain answer: the provider's usage and the price table's cost.
        await Send(http, ChatApi.Request(workspace.Name, "hello"), HttpStatusCode.OK, r =>
        {
            AssertRecord(r, 200, AuditOutcomes.Ok, null, caller.UserId, caller.KeyId, workspace);
            Assert.Equal(("openai", FakeOpenAIServer.Models.Echo, 1L), (r.Provider, r.ServedModel, r.Attempts));
            Assert.Equal((11L, 7L, 0L), (r.PromptTokens, r.CompletionTokens, r.TokensEstimated));
            Assert.Equal(((11 * AuditGatewayFixture.EchoInputPrice) + (7 * AuditGatewayFixture.EchoOutputPrice)) / 1_000_000, r.CostUsd!.Value, 12);
            Assert.Equal("POST /api/v1/chat/completions", r.Endpoint);
            Assert.Equal(0, r.Stream);
            Assert.Null(r.TtftMs);
            Assert.Equal("127.0.0.1", r.ClientIp);
        });

        // 2. A stream without usage: estimated from the text, marked as such; time to first token before the end.
        var streamed = await StreamAsync(http, ChatApi.Request(workspace.Name, "hello there", stream: true));
        expected.Add(streamed, r =>
        {
            AssertRecord(r, 200, AuditOutcomes.Ok, null, caller.UserId, caller.KeyId, workspace);
            Assert.Equal(1, r.Stream);
            Assert.Equal(1, r.TokensEstimated);
            Assert.Equal((StreamedChars + 3) / 4, r.CompletionTokens);
            Assert.True(r.PromptTokens > 0);
            Assert.NotNull(r.CostUsd);
            Assert.NotNull(r.TtftMs);
            Assert.True(r.TtftMs < r.LatencyMs, $"ttft {r.TtftMs} ms, latency {r.LatencyMs} ms");
        });

        // 3. A stream whose caller asked for usage: the provider's numbers.
        var withUsage = ChatApi.Request(workspace.Name, "hello", stream: true);
        withUsage["stream_options"] = new JsonObject { ["include_usage"] = true };
        expected.Add(await StreamAsync(http, withUsage), r =>
        {
            AssertRecord(r, 200, AuditOutcomes.Ok, null, caller.UserId, caller.KeyId, workspace);
            Assert.Equal((9L, (long)FakeOpenAIServer.StreamPieces.Length, 0L), (r.PromptTokens, r.CompletionTokens, r.TokensEstimated));
        });

        // 4-5. Refused keys: no user, the reason as a verdict.
        using (var anonymous = gateway.Http())
        {
            await Send(anonymous, ChatApi.Request(workspace.Name, "hi"), HttpStatusCode.Unauthorized, r =>
            {
                AssertRecord(r, 401, AuditOutcomes.Unauthenticated, "invalid_api_key", null, null, null);
                Assert.Equal(["API key refused: missing"], r.VerdictList);
            });
        }

        var (revoked, revokedKey) = await gateway.Store.CreateKeyAsync(caller.UserId, "to revoke", null, default);
        await gateway.Store.RevokeKeyAsync(revoked.Id, default);
        using (var refused = gateway.Http(revokedKey))
        {
            await Send(refused, ChatApi.Request(workspace.Name, "hi"), HttpStatusCode.Unauthorized, r =>
            {
                AssertRecord(r, 401, AuditOutcomes.Unauthenticated, "invalid_api_key", null, null, null);
                Assert.Equal(["API key refused: revoked"], r.VerdictList);
            });
        }

        // 6. Validation.
        var invalid = ChatApi.Request(workspace.Name, "hi");
        invalid["temperature"] = 9;
        await Send(http, invalid, HttpStatusCode.BadRequest, r => AssertRecord(r, 400, AuditOutcomes.InvalidRequest, "invalid_value", caller.UserId, caller.KeyId, null));

        // 7-8. Blocked by the guardrails: the kind, count and place, never the value.
        var token = "ghp_" + FakeSecrets.R("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36);
        await Send(http, ChatApi.Request(workspace.Name, $"push with {token}"), HttpStatusCode.BadRequest, r =>
        {
            AssertRecord(r, 400, AuditOutcomes.Blocked, "secret_detected", caller.UserId, caller.KeyId, workspace);
            Assert.Equal(["Blocked by Secret Detection: GitHub token×1 (messages[0].content)"], r.VerdictList);
            Assert.Equal(0, r.Attempts);
            Assert.Null(r.PromptTokens);
            Assert.Null(r.CostUsd);
        });

        var piiBlocked = ChatApi.Request(workspace.Name, "mail jane.doe@example.com and bob@example.org");
        piiBlocked["pii"] = "block";
        await Send(http, piiBlocked, HttpStatusCode.BadRequest, r =>
        {
            AssertRecord(r, 400, AuditOutcomes.Blocked, "pii_detected", caller.UserId, caller.KeyId, workspace);
            Assert.Equal(["Blocked by PII Detection: EMAIL×2 (messages[0].content)"], r.VerdictList);
        });

        // 9. Obfuscated and answered.
        var obfuscated = ChatApi.Request(workspace.Name, "mail jane.doe@example.com and bob@example.org");
        obfuscated["pii"] = "obfuscate";
        await Send(http, obfuscated, HttpStatusCode.OK, r =>
        {
            AssertRecord(r, 200, AuditOutcomes.Ok, null, caller.UserId, caller.KeyId, workspace);
            Assert.Equal(["PII obfuscated: EMAIL×2 (messages[0].content)"], r.VerdictList);
        });

        // 10. Unknown model.
        await Send(http, ChatApi.Request("no-such-workspace", "hi"), HttpStatusCode.NotFound, r =>
        {
            AssertRecord(r, 404, AuditOutcomes.NotFound, "model_not_found", caller.UserId, caller.KeyId, null);
            Assert.Equal("no-such-workspace", r.RequestedModel);
        });

        // 11-12. Upstream failure and timeout.
        var (failing, failingKey) = await WorkspaceAsync(FakeOpenAIServer.Models.ServerError, caller.UserId);
        using var failingHttp = gateway.Http(failingKey);
        await Send(failingHttp, ChatApi.Request(failing.Name, "hi"), HttpStatusCode.BadGateway, r =>
        {
            Assert.Equal((502L, AuditOutcomes.UpstreamError, "upstream_error", "openai", 1L), (r.Status, r.Outcome, r.ErrorCode, r.Provider, r.Attempts));
            Assert.Null(r.PromptTokens);
        });

        var (hanging, hangingKey) = await WorkspaceAsync(FakeOpenAIServer.Models.Hang, caller.UserId, timeoutSeconds: 0.3);
        using var hangingHttp = gateway.Http(hangingKey);
        await Send(hangingHttp, ChatApi.Request(hanging.Name, "hi"), HttpStatusCode.GatewayTimeout, r =>
            Assert.Equal((504L, AuditOutcomes.UpstreamTimeout, "upstream_timeout"), (r.Status, r.Outcome, r.ErrorCode)));

        // 13. The provider drops the connection mid-stream: the caller got 200 and an error event.
        var (resetting, resettingKey) = await WorkspaceAsync(FakeOpenAIServer.Models.StreamThenReset, caller.UserId);
        using var resettingHttp = gateway.Http(resettingKey);
        expected.Add(await StreamAsync(resettingHttp, ChatApi.Request(resetting.Name, "hi", stream: true)), r =>
        {
            Assert.Equal((200L, AuditOutcomes.StreamFailed, "upstream_error"), (r.Status, r.Outcome, r.ErrorCode));
            Assert.Equal(1, r.TokensEstimated);
            Assert.NotNull(r.TtftMs);
        });

        // 14. The client leaves mid-stream.
        var (slow, slowKey) = await WorkspaceAsync(FakeOpenAIServer.Models.SlowStream, caller.UserId);
        using (var slowHttp = gateway.Http(slowKey))
        {
            var marker = ChatApi.NewMarker();
            using var response = await ChatApi.SendStreamingAsync(slowHttp, ChatApi.Request(slow.Name, marker, stream: true));
            var id = RequestId(response);
            using (var reader = new StreamReader(await response.Content.ReadAsStreamAsync()))
            {
                var events = 0;
                while (events < 3 && await reader.ReadLineAsync() is { } line)
                {
                    events += line.StartsWith("data: {", StringComparison.Ordinal) ? 1 : 0;
                }
            }

            response.Dispose();
            await gateway.Upstream.AbortedAsync(marker).WaitAsync(TimeSpan.FromSeconds(5));
            expected.Add(id, r =>
            {
                Assert.Equal((499L, AuditOutcomes.ClientDisconnected, slow.Id), (r.Status, r.Outcome, r.WorkspaceId));
                Assert.NotNull(r.TtftMs);
            });
        }

        // 15. The client gives up before any answer: no response, so no request id on the client side; found by its user.
        var (gaveUp, gaveUpKey) = await gateway.CreateWorkspaceWithCallerAsync(FakeOpenAIServer.Models.Hang);
        var gaveUpCaller = await CallerOfAsync(gaveUpKey);
        using (var gaveUpHttp = gateway.Http(gaveUpKey))
        {
            var marker = ChatApi.NewMarker();
            using var cancel = new CancellationTokenSource();
            var call = ChatApi.PostAsync(gaveUpHttp, ChatApi.Request(gaveUp.Name, marker), cancel.Token);
            await gateway.Upstream.CalledAsync(FakeOpenAIServer.Models.Hang, marker);
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
            await gateway.Upstream.AbortedAsync(marker).WaitAsync(TimeSpan.FromSeconds(5));
        }

        var total = expected.Count + 1;
        var rows = await gateway.WaitForAuditRowsAsync("created_at >= @start", new { start }, total);

        Assert.Equal(total, rows.Count);
        Assert.Equal(total, rows.Select(r => r.Id).Distinct().Count());
        foreach (var (id, check) in expected)
        {
            check(Assert.Single(rows, r => r.Id == id));
        }

        var disconnected = Assert.Single(rows, r => r.UserId == gaveUpCaller.UserId);
        Assert.Equal((499L, AuditOutcomes.ClientDisconnected, gaveUp.Name), (disconnected.Status, disconnected.Outcome, disconnected.Workspace));
        Assert.Null(disconnected.TtftMs);
        Assert.Null(disconnected.PromptTokens);
        Assert.All(rows, r => Assert.StartsWith("req_", r.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task FirewallDecisions_AreRecordedAsVerdicts_WithTheirOutcome()
    {
        var workspace = await gateway.Store.CreateWorkspaceAsync("fw-audit-" + Guid.NewGuid().ToString("N")[..8], new WorkspacePolicy
        {
            Model = FakeOpenAIServer.Models.Echo,
            BlockedTopics = [new Rampart.Guardrails.Rules.TopicRule { Name = "no-legal-advice", Keywords = ["lawsuit"] }],
        }, default);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        using var http = gateway.Http(key);

        using var blocked = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, "how do I win this lawsuit?"));
        using var allowed = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, "how do I bake bread?"));

        Assert.Equal(HttpStatusCode.BadRequest, blocked.StatusCode);
        var rows = await gateway.WaitForAuditRowsAsync("id IN (@A, @B)", new { A = RequestId(blocked), B = RequestId(allowed) }, 2);
        var blockedRow = Assert.Single(rows, r => r.Id == RequestId(blocked));
        Assert.Equal((AuditOutcomes.Blocked, "content_policy_violation"), (blockedRow.Outcome, blockedRow.ErrorCode));
        Assert.Contains("Blocked by rule 'no-legal-advice'", blockedRow.VerdictList);
        Assert.Empty(Assert.Single(rows, r => r.Id == RequestId(allowed)).VerdictList);
    }

    [Fact]
    public async Task SecretsAndPiiThroughEveryPath_NeverReachTheAuditTables()
    {
        var token = "ghp_" + FakeSecrets.R("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36);
        var aws = "AKIA" + FakeSecrets.R("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
        const string Email = "very.private.person@example.com";
        const string Card = "4111 1111 1111 1111";
        var prose = "the quarterly numbers nobody may read " + Guid.NewGuid().ToString("N");
        var text = $"{prose}: {token} {aws} {Email} {Card}";
        string[] sensitive = [token, token[4..], aws, Email, Card, "4111111111111111", prose];

        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var redacting = await gateway.Store.CreateWorkspaceAsync("ws-" + Guid.NewGuid().ToString("N")[..12],
            new WorkspacePolicy { Provider = "openai", Model = FakeOpenAIServer.Models.EchoUser, Secrets = "redact", Pii = "obfuscate", ScanOutput = true }, default);
        var leaking = await gateway.CreateWorkspaceAsync(FakeOpenAIServer.Models.Leak);
        var caller = await CallerOfAsync(key);
        await gateway.Store.AddMemberAsync(redacting.Id, caller.UserId, WorkspaceRoles.Member, default);
        await gateway.Store.AddMemberAsync(leaking.Id, caller.UserId, WorkspaceRoles.Member, default);
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        using var http = gateway.Http(key);
        http.DefaultRequestHeaders.UserAgent.ParseAdd("curl/8.5.0");
        http.DefaultRequestHeaders.Add("X-Ignored", text);
        using var leakyAgent = gateway.Http(key);
        leakyAgent.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", $"tool/1.0 ({Email}; {token})");
        using var secretAsKey = gateway.Http(token);

        var sent = 0;
        async Task Send(HttpClient client, JsonObject body)
        {
            using var response = await ChatApi.PostAsync(client, body);
            await response.Content.ReadAsStringAsync();
            sent++;
        }

        JsonObject With(JsonObject body, string name, JsonNode value)
        {
            body[name] = value;
            return body;
        }

        await Send(http, ChatApi.Request(workspace.Name, text));                                              // blocked: secret
        await Send(http, ChatApi.Request(workspace.Name, text, stream: true));                                // blocked before a stream
        await Send(http, With(ChatApi.Request(workspace.Name, $"{prose} {Email} {Card}"), "pii", "block"));   // blocked: PII
        await Send(http, With(ChatApi.Request(workspace.Name, $"{prose} {Email} {Card}"), "pii", "obfuscate")); // answered
        await Send(http, ChatApi.Request(redacting.Name, text));                                              // secrets redacted, PII obfuscated
        await Send(http, ChatApi.Request(redacting.Name, text, stream: true));                                // the same, streamed
        await Send(http, ChatApi.Request(leaking.Name, "hello"));                                             // the answer leaks
        await Send(http, ChatApi.Request(leaking.Name, "hello", stream: true));
        await Send(http, With(ChatApi.Request(workspace.Name, text), "temperature", 9));                      // invalid
        await Send(http, ChatApi.Request($"{token}/{Email}", text));                                          // unknown model made of secrets
        await Send(http, ChatApi.Request("openai/" + token, "hi"));                                           // a provider model made of a secret
        await Send(leakyAgent, ChatApi.Request(workspace.Name, "hello"));                                     // secrets in the user agent
        await Send(secretAsKey, ChatApi.Request(workspace.Name, text));                                       // a secret as the API key
        using (var unknown = await http.GetAsync($"api/v1/{token}/{Uri.EscapeDataString(Email)}"))            // in an unknown URL
        {
            sent++;
        }

        await gateway.WaitForAuditRowsAsync("created_at >= @start", new { start }, sent);
        await using var connection = await gateway.ConnectAsync();
        var audit = string.Join('\n', (await connection.QueryAsync("SELECT * FROM audit_records WHERE created_at >= @start", new { start }))
            .Select(row => string.Join('|', ((IDictionary<string, object?>)row).Values)));
        var usage = string.Join('\n', (await connection.QueryAsync("SELECT * FROM usage_daily")).Select(row => string.Join('|', ((IDictionary<string, object?>)row).Values)));

        Assert.Equal(sent, audit.Split('\n').Length);
        Assert.Contains("Blocked by Secret Detection", audit);
        Assert.Contains("[EMAIL]", audit);
        foreach (var value in sensitive)
        {
            Assert.DoesNotContain(value, audit, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(value, usage, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(value, gateway.Logs.All, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task TextNoDatabaseCanStore_InTheRequestedModel_IsRecordedCleaned_AndHoldsUpNoOtherRecord()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var caller = await CallerOfAsync(key);
        using var http = gateway.Http(key);
        var ids = new List<string>();
        // A NUL (PostgreSQL's text refuses it), and an emoji across the audit log's 200-character cut (half a surrogate
        // pair is not UTF-8 at all); then a plain request.
        var model = "gpt\u0000x" + new string('m', 194) + "\U0001F600";
        foreach (var body in new[] { ChatApi.Request(model, "hi"), ChatApi.Request(workspace.Name, "hi") })
        {
            using var response = await ChatApi.PostAsync(http, body);
            ids.Add(RequestId(response));
        }

        var rows = await gateway.WaitForAuditRowsAsync("user_id = @UserId", new { caller.UserId }, 2);

        Assert.Equal(ids.Order(), rows.Select(r => r.Id).Order());
        Assert.Equal("gpt\uFFFDx" + new string('m', 194), rows.Single(r => r.Id == ids[0]).RequestedModel);
        Assert.False(File.Exists(Path.Combine(gateway.DataDir, AuditSpool.FileName)));
    }

    [Fact]
    public async Task UsageDaily_EqualsTheSumOfTheRecords()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var caller = await CallerOfAsync(key);
        using var http = gateway.Http(key);
        for (var i = 0; i < 6; i++)
        {
            using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, $"hello {i}", stream: i % 2 == 1));
            await response.Content.ReadAsStringAsync();
        }

        using (var blocked = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, "AKIA" + FakeSecrets.R("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16))))
        {
            Assert.Equal(HttpStatusCode.BadRequest, blocked.StatusCode);
        }

        var rows = await gateway.WaitForAuditRowsAsync("user_id = @UserId", new { caller.UserId }, 7);
        await using var connection = await gateway.ConnectAsync();
        var usage = (await connection.QueryAsync<(long Requests, long Prompt, long Completion, double Cost, long Blocked)>(
            "SELECT requests, prompt_tokens, completion_tokens, cost_usd, blocked FROM usage_daily WHERE user_id = @UserId", new { caller.UserId })).ToList();

        Assert.Equal(7, rows.Count);
        Assert.Equal(rows.Count, usage.Sum(u => u.Requests));
        Assert.Equal(rows.Sum(r => r.PromptTokens ?? 0), usage.Sum(u => u.Prompt));
        Assert.Equal(rows.Sum(r => r.CompletionTokens ?? 0), usage.Sum(u => u.Completion));
        Assert.Equal(rows.Sum(r => r.CostUsd ?? 0), usage.Sum(u => u.Cost), 12);
        Assert.Equal(1, usage.Sum(u => u.Blocked));
        Assert.True(usage.Sum(u => u.Cost) > 0);
    }

    [SqliteOnlyFact("it locks the SQLite file; PostgresOutageTests stops a PostgreSQL server mid-load instead")]
    public async Task DatabaseLockedUnderLoad_RecordsAreSpooled_ThenReplayedExactlyOnce()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var caller = await CallerOfAsync(key);
        await gateway.FlushAuditAsync();
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        var spool = Path.Combine(gateway.DataDir, AuditSpool.FileName);

        await using (var locker = AuditGatewayFixture.OpenDatabase(gateway.DatabasePath))
        {
            await locker.OpenAsync();
            await locker.ExecuteAsync("BEGIN EXCLUSIVE");

            using var http = gateway.Http(key);
            await Parallel.ForEachAsync(Enumerable.Range(0, 300), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            {
                using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, $"load {i}", stream: i % 3 == 0), ct);
                await response.Content.ReadAsStringAsync(ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                ids.Add(RequestId(response));
            });

            // The writer gives up on the lock and spools; nothing is stored yet, everything is on disk.
            await gateway.FlushAuditAsync();
            Assert.Equal(0, await locker.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_records WHERE user_id = @UserId", new { caller.UserId }));
            Assert.True(File.Exists(spool));
            Assert.Equal(300, File.ReadLines(spool).Count(l => l.Contains(caller.UserId, StringComparison.Ordinal)));
            await locker.ExecuteAsync("ROLLBACK");
        }

        var rows = await gateway.WaitForAuditRowsAsync("user_id = @UserId", new { caller.UserId }, 300);

        Assert.Equal(300, rows.Count);
        Assert.True(ids.Order().SequenceEqual(rows.Select(r => r.Id).Order()));
        Assert.All(rows, r => Assert.Equal(AuditOutcomes.Ok, r.Outcome));
        Assert.False(File.Exists(spool));
        Assert.Empty(Directory.EnumerateFiles(gateway.DataDir, "audit-spool*"));
        await using var connection = await gateway.ConnectAsync();
        Assert.Equal(300, await connection.ExecuteScalarAsync<long>("SELECT SUM(requests) FROM usage_daily WHERE user_id = @UserId", new { caller.UserId }));
    }

    [SqliteOnlyFact("it locks the SQLite file")]
    public async Task DatabaseLocked_KeyUsageStaysInMemory_WithoutTheDatabasesLongWait_ThenIsWritten()
    {
        var (_, key) = await gateway.CreateWorkspaceWithCallerAsync();
        var caller = await CallerOfAsync(key);
        var tracker = gateway.Services.GetRequiredService<KeyUsageTracker>();
        using var http = gateway.Http(key);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/v1/models")).StatusCode);
        }

        await using (var locker = AuditGatewayFixture.OpenDatabase(gateway.DatabasePath))
        {
            await locker.OpenAsync();
            await locker.ExecuteAsync("BEGIN EXCLUSIVE");

            // The fixture allows one second (Rampart:KeyUsageDatabaseTimeoutSeconds); SQLite's own default would hold the flush for 30.
            var waited = System.Diagnostics.Stopwatch.StartNew();
            await tracker.FlushAsync(default);
            waited.Stop();

            Assert.InRange(waited.Elapsed, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(15));
            Assert.Equal(3, tracker.PendingCount(caller.KeyId));
            Assert.Equal(0, await locker.ExecuteScalarAsync<long>("SELECT request_count FROM api_keys WHERE id = @KeyId", new { caller.KeyId }));
            await locker.ExecuteAsync("ROLLBACK");
        }

        await tracker.FlushAsync(default);

        Assert.Equal(0, tracker.PendingCount(caller.KeyId));
        var record = (await gateway.Store.ListKeysAsync(caller.UserId, default)).Single(k => k.Id == caller.KeyId);
        Assert.Equal(3, record.RequestCount);
    }

    [Fact]
    public async Task GracefulStop_FlushesEverythingStillQueued()
    {
        var dir = Path.Combine(Path.GetTempPath(), "rampart-audit-stop-" + Guid.NewGuid().ToString("N"));
        var fixture = new AuditGatewayFixture(dir);
        try
        {
            await fixture.InitializeAsync();
            var (workspace, key) = await fixture.CreateWorkspaceWithCallerAsync();
            var caller = await CallerOfAsync(fixture, key);
            using (var http = fixture.Http(key))
            {
                for (var i = 0; i < 12; i++)
                {
                    using var response = await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, $"hi {i}", stream: i % 2 == 0));
                    await response.Content.ReadAsStringAsync();
                }
            }

            // The writer waits for its (long) interval: nothing is written yet.
            Assert.Empty(await fixture.AuditRowsAsync("user_id = @UserId", new { caller.UserId }));

            await fixture.DisposeAsync();

            await using var connection = await fixture.ConnectAsync();
            Assert.Equal(12, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_records WHERE user_id = @UserId", new { caller.UserId }));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
            await TestDatabase.DropAsync(dir);
        }
    }

    private Task<(string UserId, string KeyId)> CallerOfAsync(string key) => CallerOfAsync(gateway, key);

    private static async Task<(string UserId, string KeyId)> CallerOfAsync(GatewayFixture fixture, string key)
    {
        var record = (await fixture.Store.ListKeysAsync(null, default)).Single(k => k.KeyHash == Auth.ApiKeys.Hash(key));
        return (record.UserId, record.Id);
    }

    private async Task<(Workspace Workspace, string Key)> WorkspaceAsync(string model, string userId, double? timeoutSeconds = null)
    {
        var workspace = await gateway.Store.CreateWorkspaceAsync("ws-" + Guid.NewGuid().ToString("N")[..12],
            new WorkspacePolicy { Provider = "openai", Model = model, Routing = new RoutingPolicy { TimeoutSeconds = timeoutSeconds } }, default);
        await gateway.Store.AddMemberAsync(workspace.Id, userId, WorkspaceRoles.Member, default);
        var (_, key) = await gateway.Store.CreateKeyAsync(userId, "audit test", null, default);
        return (workspace, key);
    }

    private static async Task<string> StreamAsync(HttpClient http, JsonObject body)
    {
        using var response = await ChatApi.SendStreamingAsync(http, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();
        return RequestId(response);
    }

    private static string RequestId(HttpResponseMessage response) => response.Headers.GetValues("x-request-id").Single();

    private static void AssertRecord(AuditRow r, int status, string outcome, string? errorCode, string? userId, string? keyId, Workspace? workspace)
    {
        Assert.Equal((status, outcome, errorCode), ((int)r.Status, r.Outcome, r.ErrorCode));
        Assert.Equal((userId, keyId), (r.UserId, r.KeyId));
        Assert.Equal((workspace?.Id, workspace?.Name), (r.WorkspaceId, r.Workspace));
        Assert.True(r.LatencyMs >= 0);
    }
}
