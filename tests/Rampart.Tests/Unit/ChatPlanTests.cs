using Rampart.OpenAI;
using Rampart.Workspaces;

namespace Rampart.Tests.Unit;

public sealed class ChatPlanTests
{
    private static readonly ModelRoute Route = new(
        new Workspace("ws_1", "team", 0, new WorkspacePolicy { Provider = "openai", Model = "gpt-4o", Persona = "PERSONA" }), "openai", "gpt-4o");

    [Fact]
    public void NoSystemPrompt_PrependsPersona_AndWebSearchDefaultsOn()
    {
        var plan = ChatPlan.Create(Request(ChatMessage.FromText("user", "hi")), Route);

        Assert.Equal(["system", "user"], plan.Upstream.Messages!.Select(m => m.Role));
        Assert.Equal("PERSONA", plan.Upstream.Messages![0].Content!.Text);
        Assert.True(plan.WebSearch);
        Assert.False(plan.CustomSystemPrompt);
        Assert.Equal("gpt-4o", plan.Upstream.Model);
    }

    [Theory]
    [InlineData("system")]
    [InlineData("developer")]
    public void CallersSystemMessage_ReplacesPersona_AndWebSearchDefaultsOff(string role)
    {
        var plan = ChatPlan.Create(Request(ChatMessage.FromText(role, "mine"), ChatMessage.FromText("user", "hi")), Route);

        Assert.Equal([role, "user"], plan.Upstream.Messages!.Select(m => m.Role));
        Assert.Equal("mine", plan.Upstream.Messages![0].Content!.Text);
        Assert.False(plan.WebSearch);
    }

    [Fact]
    public void SystemField_ReplacesPersona_GoesFirst_AndIsNotForwardedAsAField()
    {
        var request = Request(ChatMessage.FromText("user", "hi")) with { System = "FIELD", Pii = "obfuscate", WebSearch = true };

        var plan = ChatPlan.Create(request, Route);

        Assert.Equal("FIELD", plan.Upstream.Messages![0].Content!.Text);
        Assert.Equal(2, plan.Upstream.Messages!.Count);
        Assert.Null(plan.Upstream.System);
        Assert.Null(plan.Upstream.Pii);
        Assert.Null(plan.Upstream.WebSearch);
        Assert.True(plan.WebSearch, "an explicit web_search=true wins over the custom-prompt default");
    }

    [Fact]
    public void WorkspaceWithoutWebSearch_KeepsItOff_EvenWhenAsked()
    {
        var route = Route with { Workspace = Route.Workspace with { Policy = Route.Workspace.Policy with { WebSearch = false } } };

        var plan = ChatPlan.Create(Request(ChatMessage.FromText("user", "hi")) with { WebSearch = true }, route);

        Assert.False(plan.WebSearch);
    }

    [Fact]
    public void NoSearchBackend_KeepsItOff_EvenWhenAsked()
    {
        var plan = ChatPlan.Create(Request(ChatMessage.FromText("user", "hi")) with { WebSearch = true }, Route, searchAvailable: false);

        Assert.False(plan.WebSearch);
    }

    [Theory]
    [InlineData(null, "disabled", "disabled")]
    [InlineData("obfuscate", "disabled", "obfuscate")]
    [InlineData("disabled", "obfuscate", "obfuscate")]
    [InlineData("block", "obfuscate", "block")]
    [InlineData("obfuscate", "block", "block")]
    [InlineData(null, "block", "block")]
    public void PiiMode_IsTheStricterOfRequestAndWorkspaceMinimum(string? requested, string minimum, string expected) =>
        Assert.Equal(expected, ChatPlan.StricterPii(requested, minimum));

    private static ChatCompletionRequest Request(params ChatMessage[] messages) => new() { Model = "team", Messages = messages };
}
