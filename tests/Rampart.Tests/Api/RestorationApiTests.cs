using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Rampart.Tests.Infrastructure;
using Rampart.Workspaces;

namespace Rampart.Tests.Api;

/// <summary>PII restoration and output scanning end to end: the provider sees placeholders, the caller gets the originals back.</summary>
[Collection(GatewayTests.Name)]
public sealed class RestorationApiTests(GatewayFixture gateway)
{
    private const string Email = "ann.lee@corp.example";
    private const string Phone = "+44 20 7946 0958";

    private async Task<(Workspace Workspace, string Key)> Workspace(string model, string restore = "always", bool scanOutput = false)
    {
        var workspace = await gateway.Store.CreateWorkspaceAsync("restore-" + Guid.NewGuid().ToString("N")[..10],
            new WorkspacePolicy { Model = model, Pii = "obfuscate", PiiRestore = restore, ScanOutput = scanOutput, Persona = null }, default);
        var (_, key) = await gateway.CreateCallerAsync(workspace.Name);
        return (workspace, key);
    }

    [Fact]
    public async Task NonStreamed_ProviderSeesNumberedPlaceholders_CallerGetsOriginals()
    {
        var (workspace, key) = await Workspace(FakeOpenAIServer.Models.EchoUser);
        var marker = ChatApi.NewMarker();
        var text = $"{marker} mail {Email}, phone {Phone}, again {Email}";

        var completion = (await gateway.Sdk(key).GetChatClient(workspace.Name).CompleteChatAsync([new UserChatMessage(text)])).Value;

        var sent = gateway.Upstream.RequestWith(marker).Messages.Last()!["content"]!.GetValue<string>();
        Assert.Equal($"{marker} mail [REDACTED_EMAIL_1], phone [REDACTED_PHONE_1], again [REDACTED_EMAIL_1]", sent);
        Assert.Equal(text, completion.Content[0].Text);
    }

    [Fact]
    public async Task Streamed_TinyDeltasAndTwoChoices_AreRestoredExactly()
    {
        var (workspace, key) = await Workspace(FakeOpenAIServer.Models.EchoUser);
        var marker = ChatApi.NewMarker();
        var text = $"{marker} [x] mail {Email}, phone {Phone}, again {Email} [REDACTED_EMAIL_2] end";
        using var http = gateway.Http(key);
        var body = ChatApi.Request(workspace.Name, text, stream: true);
        body["n"] = 2;

        using var response = await ChatApi.SendStreamingAsync(http, body);
        var events = ChatApi.SseData(await response.Content.ReadAsStringAsync());

        var content = new Dictionary<int, string> { [0] = "", [1] = "" };
        foreach (var data in events.Where(e => e != "[DONE]"))
        {
            foreach (var choice in JsonNode.Parse(data)!["choices"]!.AsArray())
            {
                content[choice!["index"]!.GetValue<int>()] += choice["delta"]?["content"]?.GetValue<string>();
            }
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal(text, content[0]);
        Assert.Equal(text, content[1]);
        Assert.DoesNotContain("REDACTED_EMAIL_1", string.Concat(events));
        Assert.Contains("[REDACTED_EMAIL_1]", gateway.Upstream.RequestWith(marker).Body);
    }

    [Fact]
    public async Task Streamed_ToolCallArguments_AreRestored_ViaTheSdk()
    {
        var (workspace, key) = await Workspace(FakeOpenAIServer.Models.ToolEcho);
        var marker = ChatApi.NewMarker();
        var text = $"{marker} send it to {Email}";
        var arguments = "";

        await foreach (var update in gateway.Sdk(key).GetChatClient(workspace.Name).CompleteChatStreamingAsync([new UserChatMessage(text)]))
        {
            arguments += string.Concat(update.ToolCallUpdates.Select(t => t.FunctionArgumentsUpdate?.ToString()));
        }

        Assert.Equal(text, JsonNode.Parse(arguments)!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task OnRequest_RestoresOnlyWhenAsked()
    {
        var (workspace, key) = await Workspace(FakeOpenAIServer.Models.EchoUser, restore: "on_request");
        using var http = gateway.Http(key);

        var asked = ChatApi.Request(workspace.Name, $"{ChatApi.NewMarker()} {Email}");
        asked["pii_restore"] = true;
        var restored = await (await ChatApi.PostAsync(http, asked)).Content.ReadFromJsonAsync<JsonNode>();
        var plain = await (await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, $"{ChatApi.NewMarker()} {Email}"))).Content.ReadFromJsonAsync<JsonNode>();

        Assert.EndsWith(Email, restored!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        Assert.EndsWith("[REDACTED_EMAIL]", plain!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task RestoreAskedWhereNotAllowed_Returns400()
    {
        var (workspace, key) = await Workspace(FakeOpenAIServer.Models.EchoUser, restore: "never");
        using var http = gateway.Http(key);
        var body = ChatApi.Request(workspace.Name, "hi");
        body["pii_restore"] = true;

        var response = await ChatApi.PostAsync(http, body);
        var error = await ChatApi.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("pii_restore", error.Text("param"));
        Assert.Equal("pii_restore_not_allowed", error.Text("code"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Logprobs_AreRefusedWhereAnswersAreScanned_AndPassElsewhere(bool scanOutput)
    {
        // Log probabilities carry the answer's tokens as written: a secret redacted from the text would still be there.
        var (workspace, key) = await Workspace(FakeOpenAIServer.Models.EchoUser, restore: "never", scanOutput: scanOutput);
        using var http = gateway.Http(key);
        var marker = ChatApi.NewMarker();
        var body = ChatApi.Request(workspace.Name, marker);
        body["logprobs"] = true;
        body["top_logprobs"] = 2;

        var response = await ChatApi.PostAsync(http, body);

        if (scanOutput)
        {
            var error = await ChatApi.ErrorAsync(response);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("logprobs", error.Text("param"));
            Assert.Equal("logprobs_not_allowed", error.Text("code"));
            Assert.Contains(workspace.Name, error.Text("message"), StringComparison.Ordinal);
            Assert.Equal(0, gateway.Upstream.Calls(FakeOpenAIServer.Models.EchoUser, marker));
        }
        else
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(gateway.Upstream.RequestWith(marker).Json["logprobs"]!.GetValue<bool>());
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OutputScanning_RedactsWhatTheModelLeaks(bool stream)
    {
        var (workspace, key) = await Workspace(FakeOpenAIServer.Models.Leak, restore: "never", scanOutput: true);
        using var http = gateway.Http(key);
        var body = ChatApi.Request(workspace.Name, "what is the token?", stream);

        var response = stream ? await ChatApi.SendStreamingAsync(http, body) : await ChatApi.PostAsync(http, body);
        var raw = await response.Content.ReadAsStringAsync();
        var answer = stream
            ? string.Concat(ChatApi.SseData(raw).Where(e => e != "[DONE]").Select(e => JsonNode.Parse(e)!["choices"]!.AsArray().FirstOrDefault()?["delta"]?["content"]?.GetValue<string>()))
            : JsonNode.Parse(raw)!["choices"]![0]!["message"]!["content"]!.GetValue<string>();

        Assert.Equal("Sure. The deploy token is [REDACTED_SECRET] and the owner is [REDACTED_EMAIL], call [REDACTED_PHONE] if stuck.", answer);
        Assert.DoesNotContain(FakeOpenAIServer.LeakedToken, raw);
        Assert.DoesNotContain(FakeOpenAIServer.LeakedEmail, raw);
        if (!stream)
        {
            Assert.Equal("secrets=1, pii=2; action=redact", response.Headers.GetValues("x-rampart-output").Single());
        }
    }

    [Fact]
    public async Task WithoutOutputScanning_TheAnswerIsRelayedAsIs()
    {
        var (workspace, key) = await Workspace(FakeOpenAIServer.Models.Leak, restore: "never", scanOutput: false);
        using var http = gateway.Http(key);

        var raw = await (await ChatApi.PostAsync(http, ChatApi.Request(workspace.Name, "hi"))).Content.ReadAsStringAsync();

        Assert.Contains(FakeOpenAIServer.LeakedToken, raw);
    }
}
