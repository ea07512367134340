using System.Text.Json;
using Rampart.OpenAI;
using Rampart.Providers;
using Rampart.Providers.Anthropic;

namespace Rampart.Tests.Unit;

public sealed class AnthropicTranslationTests
{
    [Theory]
    [InlineData("end_turn", "stop")]
    [InlineData("stop_sequence", "stop")]
    [InlineData("pause_turn", "stop")]
    [InlineData("max_tokens", "length")]
    [InlineData("model_context_window_exceeded", "length")]
    [InlineData("tool_use", "tool_calls")]
    [InlineData("refusal", "content_filter")]
    public void StopReason_MapsToFinishReason(string stopReason, string finishReason) =>
        Assert.Equal(finishReason, AnthropicResponseTranslator.FinishReason(stopReason));

    [Fact]
    public void ToolWithoutInputDeltas_StreamsEmptyObjectArguments()
    {
        var translator = new AnthropicStreamTranslator("anthropic", includeUsage: false, created: 1);
        var chunks = new[]
        {
            """{"type":"message_start","message":{"id":"msg_1","model":"claude-x","usage":{"input_tokens":3,"output_tokens":1}}}""",
            """{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"now","input":{}}}""",
            """{"type":"content_block_stop","index":0}""",
            """{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":4}}""",
            """{"type":"message_stop"}""",
        }.SelectMany(e => translator.Translate(JsonSerializer.Deserialize(e, AnthropicJson.Wire.AnthropicStreamEvent)!)).ToList();

        var arguments = string.Concat(chunks.SelectMany(c => c.Choices).SelectMany(c => c.Delta.ToolCalls ?? []).Select(t => t.Function?.Arguments));
        Assert.Equal("{}", arguments);
        Assert.Equal("tool_calls", chunks[^1].Choices[0].FinishReason);
        Assert.True(translator.Stopped);
    }

    [Fact]
    public void ErrorEvent_ThrowsUpstreamExceptionWithAnthropicsMessage()
    {
        var translator = new AnthropicStreamTranslator("anthropic", includeUsage: false, created: 1);
        var error = JsonSerializer.Deserialize("""{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""", AnthropicJson.Wire.AnthropicStreamEvent)!;

        var ex = Assert.Throws<UpstreamException>(() => translator.Translate(error).ToList());

        Assert.Equal(UpstreamErrorKind.Failed, ex.Error.Kind);
        Assert.Equal("Overloaded", ex.Error.Message);
    }

    [Fact]
    public void TemperatureAboveOne_IsClamped_AndMaxTokensDefaults()
    {
        var request = new ChatCompletionRequest { Model = "claude-x", Temperature = 2, Messages = [ChatMessage.FromText("user", "hi")] };

        var (translated, error) = AnthropicRequestTranslator.Translate(request, "anthropic", stream: false);

        Assert.Null(error);
        Assert.Equal(1.0, translated!.Temperature);
        Assert.Equal(AnthropicRequestTranslator.DefaultMaxTokens, translated.MaxTokens);
    }

    [Fact]
    public void NonBase64DataUrl_IsRejected()
    {
        var part = new ContentPart { Type = "image_url", ImageUrl = JsonDocument.Parse("""{"url":"data:image/png,rawbytes"}""").RootElement };
        var request = new ChatCompletionRequest { Model = "claude-x", Messages = [new ChatMessage { Role = "user", Content = new MessageContent { Parts = [part] } }] };

        var (_, error) = AnthropicRequestTranslator.Translate(request, "anthropic", stream: false);

        Assert.Equal(UpstreamErrorKind.Rejected, error!.Kind);
        Assert.Equal("messages[0].content[0].image_url.url", error.Param);
    }
}
