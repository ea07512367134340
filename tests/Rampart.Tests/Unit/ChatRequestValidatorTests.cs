using System.Text.Json;
using Rampart.OpenAI;

namespace Rampart.Tests.Unit;

public sealed class ChatRequestValidatorTests
{
    [Fact]
    public void MinimalRequest_Passes()
    {
        var request = Parse("""{"model":"default","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Null(ChatRequestValidator.Validate(request));
    }

    [Fact]
    public void RequestWithTools_Passes()
    {
        var request = Parse("""
            {
              "model": "default",
              "messages": [{"role":"user","content":"What is the weather in Paris?"}],
              "tools": [{
                "type": "function",
                "function": {
                  "name": "get_weather-v2",
                  "description": "Current weather",
                  "parameters": {"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},
                  "strict": true
                }
              }],
              "tool_choice": {"type":"function","function":{"name":"get_weather-v2"}},
              "parallel_tool_calls": false
            }
            """);

        Assert.Null(ChatRequestValidator.Validate(request));
        Assert.Equal("get_weather-v2", Assert.Single(request.Tools!).Function!.Name);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("auto")]
    [InlineData("required")]
    public void ToolChoiceModes_Pass(string mode)
    {
        var request = Parse($$$"""
            {"model":"default","messages":[{"role":"user","content":"hi"}],
             "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"{{{mode}}}"}
            """);

        Assert.Null(ChatRequestValidator.Validate(request));
    }

    [Fact]
    public void ToolCallRoundTrip_Passes()
    {
        var request = Parse("""
            {
              "model": "default",
              "messages": [
                {"role":"user","content":"What is the weather in Paris?"},
                {"role":"assistant","content":null,"tool_calls":[
                  {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}
                ]},
                {"role":"tool","tool_call_id":"call_1","content":"{\"temp_c\":21}"},
                {"role":"assistant","content":"It is 21 °C in Paris."},
                {"role":"user","content":"Thanks"}
              ],
              "tools": [{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]
            }
            """);

        Assert.Null(ChatRequestValidator.Validate(request));
        var call = Assert.Single(request.Messages![1].ToolCalls!);
        Assert.Equal("call_1", call.Id);
        Assert.Equal("call_1", request.Messages[2].ToolCallId);
    }

    [Fact]
    public void ToolMessageWithTextParts_Passes()
    {
        var request = Parse("""
            {"model":"default","messages":[
              {"role":"user","content":"hi"},
              {"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":[{"type":"text","text":"done"}]}
            ]}
            """);

        Assert.Null(ChatRequestValidator.Validate(request));
    }

    [Fact]
    public void DeveloperRole_Passes()
    {
        var request = Parse("""
            {"model":"default","messages":[
              {"role":"developer","content":"Answer in French."},
              {"role":"system","content":[{"type":"text","text":"Be brief."}]},
              {"role":"user","content":"hi"}
            ]}
            """);

        Assert.Null(ChatRequestValidator.Validate(request));
    }

    [Fact]
    public void ImageUrlPartInUserMessage_Passes()
    {
        var request = Parse("""
            {"model":"default","messages":[{"role":"user","content":[
              {"type":"text","text":"What is in this picture?"},
              {"type":"image_url","image_url":{"url":"https://example.test/cat.png","detail":"low"}}
            ]}]}
            """);

        Assert.Null(ChatRequestValidator.Validate(request));
    }

    [Fact]
    public void ImageUrlPartInAssistantMessage_IsRejected()
    {
        var request = Parse("""
            {"model":"default","messages":[
              {"role":"user","content":"hi"},
              {"role":"assistant","content":[{"type":"image_url","image_url":{"url":"https://example.test/cat.png"}}]}
            ]}
            """);

        AssertInvalid(request, "messages[1].content[0].type");
    }

    [Fact]
    public void ImageUrlPartWithoutObject_IsRejected()
    {
        var request = Parse("""
            {"model":"default","messages":[{"role":"user","content":[{"type":"image_url","image_url":"https://example.test/cat.png"}]}]}
            """);

        AssertInvalid(request, "messages[0].content[0].image_url");
    }

    [Fact]
    public void AssistantRefusal_Passes()
    {
        var request = Parse("""
            {"model":"default","messages":[
              {"role":"user","content":"hi"},
              {"role":"assistant","refusal":"I can't help with that."},
              {"role":"assistant","content":[{"type":"refusal","refusal":"No."}]},
              {"role":"user","content":"ok"}
            ]}
            """);

        Assert.Null(ChatRequestValidator.Validate(request));
    }

    [Fact]
    public void BoundaryValues_Pass()
    {
        var request = Parse("""
            {"model":"default","messages":[{"role":"user","content":"hi"}],
             "temperature":2,"top_p":0,"n":128,"max_tokens":1,"max_completion_tokens":1,
             "presence_penalty":-2,"frequency_penalty":2,"logprobs":true,"top_logprobs":20,
             "stop":["a","b","c","d"],"logit_bias":{"50256":-100},"seed":42,
             "response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}},
             "stream":true,"stream_options":{"include_usage":true},"pii":"block","web_search":false,"system":"Be brief."}
            """);

        Assert.Null(ChatRequestValidator.Validate(request));
    }

    [Theory]
    [InlineData("\"temperature\":-0.01", "temperature")]
    [InlineData("\"temperature\":2.01", "temperature")]
    [InlineData("\"n\":129", "n")]
    [InlineData("\"top_logprobs\":21,\"logprobs\":true", "top_logprobs")]
    [InlineData("\"frequency_penalty\":2.5", "frequency_penalty")]
    [InlineData("\"max_completion_tokens\":0", "max_completion_tokens")]
    [InlineData("\"stop\":42", "stop")]
    [InlineData("\"stop\":[\"a\",1]", "stop")]
    [InlineData("\"logit_bias\":[1,2]", "logit_bias")]
    [InlineData("\"response_format\":\"json\"", "response_format")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{}}]", "tools[0].function.name")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":\"object\"}}]", "tools[0].function.parameters")]
    [InlineData("\"tool_choice\":42", "tool_choice")]
    public void OutOfContractField_IsRejectedNamingIt(string field, string param)
    {
        var request = Parse($$"""{"model":"default","messages":[{"role":"user","content":"hi"}],{{field}}}""");

        AssertInvalid(request, param);
    }

    [Fact]
    public void ToolFunctionName_Over64Characters_IsRejected()
    {
        var name = new string('a', 65);
        var request = Parse($$$"""{"model":"default","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"{{{name}}}"}}]}""");

        AssertInvalid(request, "tools[0].function.name");
    }

    [Fact]
    public void ToolCallWithoutId_IsRejected()
    {
        var request = Parse("""
            {"model":"default","messages":[
              {"role":"user","content":"hi"},
              {"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}
            ]}
            """);

        AssertInvalid(request, "messages[1].tool_calls[0].id");
    }

    [Fact]
    public void MessageWithoutRole_IsRejected()
    {
        var request = Parse("""{"model":"default","messages":[{"content":"hi"}]}""");

        AssertInvalid(request, "messages[0].role");
    }

    [Fact]
    public void UserMessageWithoutContent_IsRejected()
    {
        var request = Parse("""{"model":"default","messages":[{"role":"user"}]}""");

        AssertInvalid(request, "messages[0].content");
    }

    [Fact]
    public void FirstProblem_Wins()
    {
        var request = Parse("""{"messages":[{"role":"wizard","content":"hi"}],"temperature":9}""");

        AssertInvalid(request, "model");
    }

    [Fact]
    public void LongInvalidValue_IsShortenedInTheMessage()
    {
        var role = new string('w', 500);
        var request = Parse($$"""{"model":"default","messages":[{"role":"{{role}}","content":"hi"}]}""");

        var error = AssertInvalid(request, "messages[0].role");
        Assert.DoesNotContain(role, error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 300, error.Message);
    }

    private static ChatCompletionRequest Parse(string json) =>
        JsonSerializer.Deserialize(json, OpenAIJson.Wire.ChatCompletionRequest) ?? throw new InvalidOperationException("null request");

    private static ApiError AssertInvalid(ChatCompletionRequest request, string param)
    {
        var error = ChatRequestValidator.Validate(request);
        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal(param, error.Param);
        return error;
    }
}
