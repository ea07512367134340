using System.Text.Json;
using Rampart.OpenAI;
using Rampart.Workspaces;

namespace Rampart.Tests.Unit;

public sealed class PolicyDefaultsTests
{
    [Fact]
    public void PolicyStoredBeforeAFieldExisted_GetsThatFieldsDefault()
    {
        var policy = JsonSerializer.Deserialize("""{"provider":"openai","model":"m"}""", OpenAIJson.Wire.WorkspacePolicy)!;

        Assert.Equal(new WorkspacePolicy { Provider = "openai", Model = "m" }.Secrets, policy.Secrets);
        Assert.Equal("disabled", policy.Pii);
        Assert.NotNull(policy.Routing);
        Assert.True(policy.WebSearch);
        Assert.Null(policy.Search!.Backend);
        Assert.False(policy.Search.SearchFirst);
        Assert.Null(policy.Validate());
    }

    [Fact]
    public void NoPersona_SurvivesARoundTrip()
    {
        var json = JsonSerializer.Serialize(new WorkspacePolicy { Persona = null }, OpenAIJson.Wire.WorkspacePolicy);

        Assert.Null(JsonSerializer.Deserialize(json, OpenAIJson.Wire.WorkspacePolicy)!.Persona);
    }
}
