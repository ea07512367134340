using System.Text;
using System.Text.Json;
using Rampart.OpenAI;

namespace Rampart.Providers.Anthropic;

/// <summary>Turns a Messages API answer into an OpenAI <c>chat.completion</c>.</summary>
internal static class AnthropicResponseTranslator
{
    public static ChatCompletion ToCompletion(AnthropicResponse response, long created)
    {
        var text = new StringBuilder();
        var thinking = new StringBuilder();
        var toolCalls = new List<ToolCall>();
        foreach (var block in response.Content ?? [])
        {
            switch (block.Type)
            {
                case "text":
                    text.Append(block.Text);
                    break;
                case "thinking":
                    thinking.Append(block.Thinking);
                    break;
                case "tool_use":
                    toolCalls.Add(new ToolCall
                    {
                        Id = block.Id,
                        Type = "function",
                        Function = new FunctionCall { Name = block.Name, Arguments = block.Input?.GetRawText() ?? "{}" },
                    });
                    break;
            }
        }

        var message = new ChatMessage
        {
            Role = "assistant",
            // OpenAI leaves content null when the answer is only tool calls.
            Content = text.Length == 0 && toolCalls.Count > 0 ? null : MessageContent.FromText(text.ToString()),
            ToolCalls = toolCalls.Count > 0 ? toolCalls : null,
            ReasoningContent = thinking.Length > 0 ? thinking.ToString() : null,
        };
        return new ChatCompletion
        {
            Id = response.Id ?? "",
            Created = created,
            Model = response.Model ?? "",
            Choices = [new ChatChoice { Index = 0, Message = message, FinishReason = FinishReason(response.StopReason) }],
            Usage = ToUsage(response.Usage),
        };
    }

    /// <summary>Anthropic's <c>stop_reason</c> as OpenAI's <c>finish_reason</c>.</summary>
    public static string? FinishReason(string? stopReason) => stopReason switch
    {
        null => null,
        "max_tokens" or "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        // end_turn, stop_sequence, and pause_turn (a server-side tool turn cut short): the answer ended normally.
        _ => "stop",
    };

    /// <summary>
    /// Anthropic counts cache reads and cache writes apart from <c>input_tokens</c>; OpenAI's <c>prompt_tokens</c>
    /// includes them, with the cache reads repeated as <c>prompt_tokens_details.cached_tokens</c>.
    /// </summary>
    public static Usage? ToUsage(AnthropicUsage? usage)
    {
        if (usage is null)
        {
            return null;
        }

        var cacheRead = usage.CacheReadInputTokens ?? 0;
        var prompt = (usage.InputTokens ?? 0) + cacheRead + (usage.CacheCreationInputTokens ?? 0);
        var completion = usage.OutputTokens ?? 0;
        return new Usage
        {
            PromptTokens = prompt,
            CompletionTokens = completion,
            TotalTokens = prompt + completion,
            Extra = cacheRead > 0
                ? new() { ["prompt_tokens_details"] = JsonSerializer.SerializeToElement(new PromptTokensDetails(cacheRead), AnthropicJson.Wire.PromptTokensDetails) }
                : null,
        };
    }
}

/// <summary>
/// Turns the events of one streamed Messages API answer into OpenAI chunks, all sharing one id, created time and model.
/// Tool calls are numbered 0, 1 … in the order their blocks start, whatever Anthropic's block index.
/// </summary>
internal sealed class AnthropicStreamTranslator(string provider, bool includeUsage, long created)
{
    private readonly Dictionary<int, ToolState> _tools = [];
    private string _id = "";
    private string _model = "";
    private AnthropicUsage _usage = new();

    /// <summary>Whether <c>message_stop</c> arrived: a stream that ends without it broke off.</summary>
    public bool Stopped { get; private set; }

    public IEnumerable<ChatCompletionChunk> Translate(AnthropicStreamEvent e)
    {
        switch (e.Type)
        {
            case "message_start":
                _id = e.Message?.Id ?? "";
                _model = e.Message?.Model ?? "";
                _usage = Merge(_usage, e.Message?.Usage);
                yield return Chunk(new ChatDelta { Role = "assistant", Content = "" });
                break;
            case "content_block_start" when e.ContentBlock is { } block:
                foreach (var chunk in BlockStart(e.Index ?? 0, block))
                {
                    yield return chunk;
                }

                break;
            case "content_block_delta" when e.Delta is { } delta:
                if (BlockDelta(e.Index ?? 0, delta) is { } deltaChunk)
                {
                    yield return deltaChunk;
                }

                break;
            case "content_block_stop":
                // A tool called without arguments may send no input at all; OpenAI callers parse the arguments as JSON.
                if (_tools.TryGetValue(e.Index ?? 0, out var tool) && !tool.SentArguments)
                {
                    yield return ToolChunk(new ToolCallDelta { Index = tool.Index, Function = new FunctionCall { Arguments = "{}" } });
                }

                break;
            case "message_delta":
                _usage = Merge(_usage, e.Usage);
                if (AnthropicResponseTranslator.FinishReason(e.Delta?.StopReason) is { } finish)
                {
                    yield return Chunk(new ChatDelta(), finish);
                }

                break;
            case "message_stop":
                Stopped = true;
                if (includeUsage)
                {
                    yield return new ChatCompletionChunk { Id = _id, Created = created, Model = _model, Choices = [], Usage = AnthropicResponseTranslator.ToUsage(_usage) };
                }

                break;
            case "error":
                throw new UpstreamException(UpstreamHttp.ParseError(provider, e.Error, null) with { Kind = UpstreamErrorKind.Failed });
        }
    }

    private IEnumerable<ChatCompletionChunk> BlockStart(int index, AnthropicBlock block)
    {
        switch (block.Type)
        {
            case "text" when !string.IsNullOrEmpty(block.Text):
                yield return Chunk(new ChatDelta { Content = block.Text });
                break;
            case "thinking" when !string.IsNullOrEmpty(block.Thinking):
                yield return Chunk(new ChatDelta { ReasoningContent = block.Thinking });
                break;
            case "tool_use":
                var tool = new ToolState(_tools.Count);
                _tools[index] = tool;
                yield return ToolChunk(new ToolCallDelta
                {
                    Index = tool.Index,
                    Id = block.Id,
                    Type = "function",
                    Function = new FunctionCall { Name = block.Name, Arguments = "" },
                });
                break;
        }
    }

    private ChatCompletionChunk? BlockDelta(int index, AnthropicDelta delta)
    {
        switch (delta.Type)
        {
            case "text_delta" when !string.IsNullOrEmpty(delta.Text):
                return Chunk(new ChatDelta { Content = delta.Text });
            case "thinking_delta" when !string.IsNullOrEmpty(delta.Thinking):
                return Chunk(new ChatDelta { ReasoningContent = delta.Thinking });
            case "input_json_delta" when !string.IsNullOrEmpty(delta.PartialJson) && _tools.TryGetValue(index, out var tool):
                tool.SentArguments = true;
                return ToolChunk(new ToolCallDelta { Index = tool.Index, Function = new FunctionCall { Arguments = delta.PartialJson } });
            default:
                // signature_delta, citations_delta and blocks OpenAI's format has no place for.
                return null;
        }
    }

    private ChatCompletionChunk ToolChunk(ToolCallDelta call) => Chunk(new ChatDelta { ToolCalls = [call] });

    private ChatCompletionChunk Chunk(ChatDelta delta, string? finishReason = null) => new()
    {
        Id = _id,
        Created = created,
        Model = _model,
        Choices = [new ChunkChoice { Index = 0, Delta = delta, FinishReason = finishReason }],
    };

    /// <summary>Usage figures are cumulative; a later event's figure replaces an earlier one, a missing one keeps it.</summary>
    private static AnthropicUsage Merge(AnthropicUsage current, AnthropicUsage? update) => update is null
        ? current
        : new AnthropicUsage
        {
            InputTokens = update.InputTokens ?? current.InputTokens,
            OutputTokens = update.OutputTokens ?? current.OutputTokens,
            CacheCreationInputTokens = update.CacheCreationInputTokens ?? current.CacheCreationInputTokens,
            CacheReadInputTokens = update.CacheReadInputTokens ?? current.CacheReadInputTokens,
        };

    private sealed class ToolState(int index)
    {
        public int Index { get; } = index;
        public bool SentArguments { get; set; }
    }
}
