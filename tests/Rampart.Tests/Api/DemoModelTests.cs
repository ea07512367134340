using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

/// <summary>A gateway with no provider credentials at all, as on a fresh machine.</summary>
public sealed class UnconfiguredGatewayFixture : GatewayFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["OPENAI_API_KEY"] = "";
        settings["OPENAI_BASE_URL"] = "";
    }
}

[CollectionDefinition(Name)]
public sealed class UnconfiguredGatewayTests : ICollectionFixture<UnconfiguredGatewayFixture>
{
    public const string Name = "unconfigured gateway";
}

[Collection(UnconfiguredGatewayTests.Name)]
public sealed class DemoModelTests(UnconfiguredGatewayFixture gateway)
{
    [Fact]
    public async Task FirstStart_PrintsCredentialsOnce_AndThePrintedKeyGetsADemoAnswer()
    {
        var output = gateway.FirstStartOutput.ToString();
        var key = output.Split((char[])[' ', '\n', '"'], StringSplitOptions.RemoveEmptyEntries).First(w => w.StartsWith("rmp_", StringComparison.Ordinal));
        Assert.Contains("admin@localhost", output);
        Assert.Contains("Password", output);
        Assert.Equal(1, CountOccurrences(output, "Rampart: first start"));

        var chat = gateway.Sdk(key).GetChatClient("default");
        var completion = (await chat.CompleteChatAsync([new UserChatMessage("Hello!")])).Value;

        Assert.Contains("offline demo model", completion.Content[0].Text);
        Assert.Contains("'openai' has no credentials", completion.Content[0].Text);
        Assert.Contains("\"Hello!\"", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.True(completion.Usage.OutputTokenCount > 10);
        Assert.Equal("local/demo", completion.Model);
    }

    [Fact]
    public async Task DemoStream_ArrivesWordByWord_AndMatchesTheNonStreamedAnswer()
    {
        var (_, key) = await gateway.CreateCallerAsync("default");
        var chat = gateway.Sdk(key).GetChatClient("default");
        ChatMessage[] messages = [new UserChatMessage("Stream this, please.")];

        var whole = (await chat.CompleteChatAsync(messages)).Value.Content[0].Text;
        var pieces = new List<string>();
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(messages))
        {
            pieces.AddRange(update.ContentUpdate.Select(p => p.Text));
            usage ??= update.Usage;
        }

        Assert.Equal(whole, string.Concat(pieces));
        Assert.True(pieces.Count(p => p.Length > 0) > 20, "the demo streams one word per chunk");
        Assert.All(pieces.Where(p => p.Length > 0).Skip(1), p => Assert.StartsWith(" ", p));
        Assert.NotNull(usage);
    }

    [Fact]
    public async Task DemoAnswer_IsDeterministic()
    {
        var (_, key) = await gateway.CreateCallerAsync("default");
        var chat = gateway.Sdk(key).GetChatClient("default");

        var first = (await chat.CompleteChatAsync([new UserChatMessage("Same question")])).Value.Content[0].Text;
        var second = (await chat.CompleteChatAsync([new UserChatMessage("Same question")])).Value.Content[0].Text;

        Assert.Equal(first, second);
    }

    [Fact]
    public async Task DirectDemoModel_AnswersWithoutStandingInForAProvider()
    {
        var (_, key) = await gateway.CreateCallerAsync("default");
        using var http = gateway.Http(key);

        var response = await http.PostAsJsonAsync("api/v1/chat/completions", new
        {
            model = "local/demo",
            messages = new[] { new { role = "user", content = "hi" } },
            max_tokens = 5,
            n = 2,
        });
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("local", response.Headers.GetValues("x-rampart-provider").Single());
        var choices = json["choices"]!.AsArray();
        Assert.Equal(2, choices.Count);
        Assert.All(choices, c => Assert.Equal("length", c!["finish_reason"]!.GetValue<string>()));
        var text = choices[0]!["message"]!["content"]!.GetValue<string>();
        Assert.Equal("Hello from Rampart's offline demo", text);

        var (_, fullText) = await AnswerAsync(http, ChatApi.Request("local/demo", "hi"));
        Assert.Contains("You asked for the offline demo model", fullText);
        Assert.DoesNotContain("has no credentials", fullText);
    }

    [Fact]
    public async Task UnconfiguredProvider_ServedByDemo_HeadersSayWhoAnswered()
    {
        var (_, key) = await gateway.CreateCallerAsync("default");
        using var http = gateway.Http(key);

        var (response, text) = await AnswerAsync(http, ChatApi.Request("xai/grok-beta", "hi"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("local", response.Headers.GetValues("x-rampart-provider").Single());
        Assert.Equal("default", response.Headers.GetValues("x-rampart-workspace").Single());
        Assert.Contains("'xai' has no credentials", text);
        Assert.Contains("XAI_API_KEY", text);
    }

    private static async Task<(HttpResponseMessage Response, string Text)> AnswerAsync(HttpClient http, JsonObject body)
    {
        var response = await ChatApi.PostAsync(http, body);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return (response, json["choices"]![0]!["message"]!["content"]!.GetValue<string>());
    }

    private static int CountOccurrences(string text, string value) => text.Split(value).Length - 1;
}
