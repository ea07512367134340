using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Rampart.Audit;
using Rampart.Auth;
using Rampart.Tests.Infrastructure;
using Rampart.Workspaces;

namespace Rampart.Tests.Api;

/// <summary>
/// Audit query, export and usage through the HTTP API. Records are written straight to the store on a day of their
/// own in the past, so each test reads exactly the records it made, whatever the API calls themselves add.
/// </summary>
[Collection(ManagementTests.Name)]
public sealed class ManagementAuditTests(ManagementFixture gateway)
{
    private static int s_day;

    [Fact]
    public async Task AuditScope_OrgAdminAll_WorkspaceAdminTheirWorkspaces_MemberOnlyOwn()
    {
        var (from, to, at) = NewDay();
        var a = await gateway.CreateWorkspaceAsync();
        var b = await gateway.CreateWorkspaceAsync();
        var (wsAdmin, wsAdminKey) = await gateway.PersonAsync(OrgRoles.Member, (a, WorkspaceRoles.Admin));
        var (m1, m1Key) = await gateway.PersonAsync(OrgRoles.Member, (a, WorkspaceRoles.Member));
        var (m2, m2Key) = await gateway.PersonAsync(OrgRoles.Member, (a, WorkspaceRoles.Member), (b, WorkspaceRoles.Member));
        var (stranger, _) = await gateway.PersonAsync(OrgRoles.Member, (b, WorkspaceRoles.Admin));
        await WriteAsync(
            Record(at(1), m1.Id, a), Record(at(2), m1.Id, a), Record(at(3), m2.Id, a), Record(at(4), m2.Id, b), Record(at(5), stranger.Id, b), Record(at(6), wsAdmin.Id, b));

        var range = $"api/v1/audit?from={from}&to={to}";
        using var admin = gateway.Http(gateway.MasterKey);
        using var workspaceAdmin = gateway.Http(wsAdminKey);
        using var member1 = gateway.Http(m1Key);
        using var member2 = gateway.Http(m2Key);

        Assert.Equal(6, (await Mgmt.GetAsync(admin, range)).Body!["data"]!.AsArray().Count);
        // Workspace admin: everything in A, plus their own request in B; nothing else of B.
        Assert.Equal([wsAdmin.Id, m2.Id, m1.Id, m1.Id], Mgmt.Strings((await Mgmt.GetAsync(workspaceAdmin, range)).Body, "user_id"));
        Assert.Equal("workspace_not_found", Mgmt.Error(await Mgmt.GetAsync(workspaceAdmin, $"{range}&workspace={b.Name}"), HttpStatusCode.NotFound)["code"]!.GetValue<string>());
        // Members: only their own requests, even when they ask for a workspace or another user.
        Assert.Equal([m1.Id, m1.Id], Mgmt.Strings((await Mgmt.GetAsync(member1, range)).Body, "user_id"));
        Assert.Empty(Mgmt.Strings((await Mgmt.GetAsync(member1, $"{range}&user_id={m2.Id}")).Body, "id"));
        Mgmt.Error(await Mgmt.GetAsync(member1, $"{range}&workspace={b.Name}"), HttpStatusCode.NotFound);
        var inB = (await Mgmt.GetAsync(member2, $"{range}&workspace={b.Name}")).Body;
        Assert.Equal([m2.Id], Mgmt.Strings(inB, "user_id"));
        Assert.Equal([b.Name], Mgmt.Strings(inB, "workspace"));

        // The same rules for exports and usage.
        var csv = await TextAsync(member1, $"api/v1/audit/export?format=csv&from={from}&to={to}");
        Assert.Equal(3, csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.DoesNotContain(m2.Id, csv, StringComparison.Ordinal);
        var usage = (await Mgmt.GetAsync(member2, $"api/v1/usage?group_by=workspace&from={from}&to={to}")).Body!["data"]!.AsArray();
        Assert.Equal([1L, 1L], usage.Select(u => u!["requests"]!.GetValue<long>()));
        Mgmt.Error(await Mgmt.GetAsync(member1, $"api/v1/usage?workspace={b.Name}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AuditQuery_FiltersAndCursorPages_NewestFirst()
    {
        var (from, to, at) = NewDay();
        var workspace = await gateway.CreateWorkspaceAsync();
        var (user, _) = await gateway.PersonAsync(OrgRoles.Member, (workspace, WorkspaceRoles.Member));
        var (other, _) = await gateway.PersonAsync(OrgRoles.Member, (workspace, WorkspaceRoles.Member));
        var records = Enumerable.Range(1, 7).Select(i => Record(at(i), i % 2 == 0 ? other.Id : user.Id, workspace)).ToList();
        records[2] = records[2] with { Outcome = AuditOutcomes.Blocked, Status = 400, Verdicts = ["Blocked by Secret Detection: GitHub token×1 (messages[0].content)"] };
        records[4] = records[4] with { KeyId = "key_special" };
        await WriteAsync([.. records]);
        using var admin = gateway.Http(gateway.MasterKey);
        var range = $"api/v1/audit?from={from}&to={to}";

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = (await Mgmt.GetAsync(admin, $"{range}&limit=3" + (cursor is null ? "" : $"&cursor={cursor}"))).Body!;
            seen.AddRange(Mgmt.Strings(page, "id"));
            cursor = page["next_cursor"]?.GetValue<string>();
            Assert.Equal(cursor is not null, page["has_more"]!.GetValue<bool>());
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(records.Select(r => r.Id).Reverse(), seen);

        Assert.Equal([records[2].Id], Mgmt.Strings((await Mgmt.GetAsync(admin, $"{range}&outcome=blocked")).Body, "id"));
        Assert.Equal([records[2].Id], Mgmt.Strings((await Mgmt.GetAsync(admin, $"{range}&verdict=secret%20DETECTION")).Body, "id"));
        Assert.Equal([records[2].Id], Mgmt.Strings((await Mgmt.GetAsync(admin, $"{range}&verdict=token%C3%971")).Body, "id"));
        Assert.Empty(Mgmt.Strings((await Mgmt.GetAsync(admin, $"{range}&verdict=100%25")).Body, "id"));
        Assert.Equal([records[4].Id], Mgmt.Strings((await Mgmt.GetAsync(admin, $"{range}&key_id=key_special")).Body, "id"));
        Assert.Equal(3, Mgmt.Strings((await Mgmt.GetAsync(admin, $"{range}&user_id={other.Id}")).Body, "id").Count);
        Assert.Equal(7, Mgmt.Strings((await Mgmt.GetAsync(admin, $"{range}&workspace={workspace.Id}")).Body, "id").Count);
        var blocked = (await Mgmt.GetAsync(admin, $"{range}&outcome=blocked")).Body!["data"]![0]!;
        Assert.Equal("Blocked by Secret Detection: GitHub token×1 (messages[0].content)", blocked["verdicts"]![0]!.GetValue<string>());

        // A narrower time range (to is exclusive).
        var narrow = $"api/v1/audit?from={Iso(at(2))}&to={Iso(at(4))}";
        Assert.Equal([records[2].Id, records[1].Id], Mgmt.Strings((await Mgmt.GetAsync(admin, narrow)).Body, "id"));

        Assert.Equal("limit", Mgmt.Error(await Mgmt.GetAsync(admin, $"{range}&limit=501"), HttpStatusCode.BadRequest)["param"]!.GetValue<string>());
        Assert.Equal("cursor", Mgmt.Error(await Mgmt.GetAsync(admin, $"{range}&cursor=not-a-cursor"), HttpStatusCode.BadRequest)["param"]!.GetValue<string>());
        Assert.Equal("outcome", Mgmt.Error(await Mgmt.GetAsync(admin, $"{range}&outcome=fine"), HttpStatusCode.BadRequest)["param"]!.GetValue<string>());
        Assert.Equal("from", Mgmt.Error(await Mgmt.GetAsync(admin, "api/v1/audit?from=yesterday"), HttpStatusCode.BadRequest)["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task Export_CsvAndJsonLines_HoldEveryMatchingRecord()
    {
        var (from, to, at) = NewDay();
        var workspace = await gateway.CreateWorkspaceAsync();
        var (user, _) = await gateway.PersonAsync(OrgRoles.Member, (workspace, WorkspaceRoles.Member));
        var tricky = Record(at(1), user.Id, workspace) with
        {
            Verdicts = ["PII obfuscated: EMAIL×2 (messages[0].content)", "Output redacted: secrets×1, PII×0"],
            UserAgent = "=HYPERLINK(\"http://evil.example\")",
        };
        var plain = Record(at(2), user.Id, workspace) with { PromptTokens = 11, CompletionTokens = 7, CostUsd = 0.0001 };
        await WriteAsync(tricky, plain);
        using var admin = gateway.Http(gateway.MasterKey);

        using var csvResponse = await admin.GetAsync($"api/v1/audit/export?format=csv&from={from}&to={to}");
        Assert.Equal("text/csv", csvResponse.Content.Headers.ContentType!.MediaType);
        var csv = (await csvResponse.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal(3, csv.Count);
        Assert.StartsWith("id,created_at,endpoint,user_id,key_id,workspace_id,workspace,", csv[0], StringComparison.Ordinal);
        Assert.StartsWith(plain.Id + ",", csv[1], StringComparison.Ordinal);
        Assert.Contains(",11,7,false,0.0001,", csv[1], StringComparison.Ordinal);
        Assert.Contains("\"PII obfuscated: EMAIL×2 (messages[0].content); Output redacted: secrets×1, PII×0\"", csv[2], StringComparison.Ordinal);
        // A formula is defused and quoted.
        Assert.EndsWith(",\"'=HYPERLINK(\"\"http://evil.example\"\")\"", csv[2], StringComparison.Ordinal);

        using var jsonlResponse = await admin.GetAsync($"api/v1/audit/export?format=jsonl&from={from}&to={to}&workspace={workspace.Name}");
        Assert.Equal("application/x-ndjson", jsonlResponse.Content.Headers.ContentType!.MediaType);
        var lines = (await jsonlResponse.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal([plain.Id, tricky.Id], lines.Select(l => l["id"]!.GetValue<string>()));
        Assert.Equal(2, lines[1]["verdicts"]!.AsArray().Count);
        Assert.Equal(11, lines[0]["prompt_tokens"]!.GetValue<long>());

        Mgmt.Error(await Mgmt.GetAsync(admin, "api/v1/audit/export?format=xml"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Usage_SummedByDayWorkspaceUserModel()
    {
        var (from, to, at) = NewDay();
        var a = await gateway.CreateWorkspaceAsync();
        var b = await gateway.CreateWorkspaceAsync();
        var (user, _) = await gateway.PersonAsync(OrgRoles.Member, (a, WorkspaceRoles.Member), (b, WorkspaceRoles.Member));
        var (wsAdmin, wsAdminKey) = await gateway.PersonAsync(OrgRoles.Member, (a, WorkspaceRoles.Admin));
        await WriteAsync(
            Record(at(1), user.Id, a) with { PromptTokens = 10, CompletionTokens = 5, CostUsd = 0.5 },
            Record(at(2), user.Id, a) with { PromptTokens = 20, CompletionTokens = 5, CostUsd = 0.25, Outcome = AuditOutcomes.Blocked },
            Record(at(3), wsAdmin.Id, b) with { ServedModel = "gpt-4o", PromptTokens = 1, CompletionTokens = 1 });
        using var admin = gateway.Http(gateway.MasterKey);
        var range = $"from={from}&to={from}";

        var byDay = (await Mgmt.GetAsync(admin, $"api/v1/usage?{range}")).Body!["data"]!.AsArray();
        var day = Assert.Single(byDay)!;
        Assert.Equal((from, 3L, 31L, 11L, 1L), (day["day"]!.GetValue<string>(), day["requests"]!.GetValue<long>(), day["prompt_tokens"]!.GetValue<long>(),
            day["completion_tokens"]!.GetValue<long>(), day["blocked"]!.GetValue<long>()));
        Assert.Equal(0.75, day["cost_usd"]!.GetValue<double>(), 9);

        var byWorkspace = (await Mgmt.GetAsync(admin, $"api/v1/usage?group_by=workspace&{range}")).Body!["data"]!.AsArray();
        Assert.Equal([a.Name, b.Name], byWorkspace.Select(w => w!["workspace"]!.GetValue<string>()));
        var byUser = (await Mgmt.GetAsync(admin, $"api/v1/usage?group_by=user&{range}")).Body!["data"]!.AsArray();
        Assert.Equal([(user.Email, 2L), (wsAdmin.Email, 1L)], byUser.Select(u => (u!["email"]!.GetValue<string>(), u["requests"]!.GetValue<long>())));
        var byModel = (await Mgmt.GetAsync(admin, $"api/v1/usage?group_by=model&{range}")).Body!["data"]!.AsArray();
        Assert.Equal([FakeOpenAIServer.Models.Echo, "gpt-4o"], byModel.Select(m => m!["model"]!.GetValue<string>()));

        // A workspace admin of A sees A's usage and their own, not the rest of B.
        using var workspaceAdmin = gateway.Http(wsAdminKey);
        var scoped = (await Mgmt.GetAsync(workspaceAdmin, $"api/v1/usage?group_by=workspace&from={from}&to={to}")).Body!["data"]!.AsArray();
        Assert.Equal([(a.Name, 2L), (b.Name, 1L)], scoped.Select(w => (w!["workspace"]!.GetValue<string>(), w["requests"]!.GetValue<long>())));

        Assert.Equal("group_by", Mgmt.Error(await Mgmt.GetAsync(admin, "api/v1/usage?group_by=hour"), HttpStatusCode.BadRequest)["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task RealRequest_FoundInAudit_ByItsOwnCaller()
    {
        var (workspace, key) = await gateway.CreateWorkspaceWithCallerAsync();
        using var http = gateway.Http(key);
        var body = ChatApi.Request(workspace.Name, "mail jane.doe@example.com");
        body["pii"] = "obfuscate";
        using (var response = await ChatApi.PostAsync(http, body))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await gateway.FlushAuditAsync();
        var found = (await Mgmt.GetAsync(http, $"api/v1/audit?workspace={workspace.Name}")).Body!["data"]!.AsArray();
        var record = Assert.Single(found)!;
        Assert.Equal(("POST /api/v1/chat/completions", "ok", 200), (record["endpoint"]!.GetValue<string>(), record["outcome"]!.GetValue<string>(), record["status"]!.GetValue<int>()));
        Assert.Equal("PII obfuscated: EMAIL×1 (messages[0].content)", record["verdicts"]![0]!.GetValue<string>());
        Assert.DoesNotContain("jane.doe", found.ToJsonString(), StringComparison.Ordinal);
    }

    /// <summary>A day of its own (in 2020, so no real request falls in it): its date, the next date, and a time within it.</summary>
    private static (string From, string To, Func<int, long> At) NewDay()
    {
        var day = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(Interlocked.Increment(ref s_day));
        return (day.ToString("yyyy-MM-dd"), day.AddDays(1).ToString("yyyy-MM-dd"), minute => day.AddMinutes(minute).ToUnixTimeMilliseconds());
    }

    private static string Iso(long unixMilliseconds) => Uri.EscapeDataString(DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds).ToString("O"));

    private static AuditRecord Record(long createdAt, string userId, Workspace workspace) => new()
    {
        Id = "req_" + Guid.NewGuid().ToString("N"),
        CreatedAt = createdAt,
        Endpoint = "POST /api/v1/chat/completions",
        UserId = userId,
        KeyId = "key_" + userId,
        WorkspaceId = workspace.Id,
        Workspace = workspace.Name,
        RequestedModel = workspace.Name,
        Provider = "openai",
        ServedModel = FakeOpenAIServer.Models.Echo,
        Status = 200,
        Outcome = AuditOutcomes.Ok,
        LatencyMs = 12.5,
    };

    private Task<int> WriteAsync(params AuditRecord[] records) => gateway.Services.GetRequiredService<AuditStore>().WriteAsync(records, default);

    private static async Task<string> TextAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }
}
