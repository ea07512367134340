using System.Text;
using System.Text.Json;
using Rampart.Data;
using Rampart.OpenAI;

namespace Rampart.Providers.Gemini;

/// <summary>
/// Gemini's answers in OpenAI's shape: candidates become choices, function calls become tool calls with
/// generated ids, finish reasons and usage map one to one. Finish reasons OpenAI has no word for are never
/// passed off as <c>stop</c>: a broken function call is an error, a refused prompt a 400.
/// </summary>
internal static class GeminiResponseTranslator
{
    /// <summary>The answer, or why there is none: a blocked prompt, a broken function call, an empty answer.</summary>
    public static ProviderResult<ChatCompletion> ToCompletion(string provider, GeminiResponse response, string model)
    {
        if (Blocked(provider, response) is { } blocked)
        {
            return blocked;
        }

        if (response.Candidates is not { Count: > 0 } candidates)
        {
            return new UpstreamError(UpstreamErrorKind.Failed, provider, $"Provider '{provider}' returned an answer without candidates.");
        }

        var choices = new List<ChatChoice>();
        for (var i = 0; i < candidates.Count; i++)
        {
            var candidate = candidates[i];
            if (Failure(provider, candidate) is { } failure)
            {
                return failure;
            }

            var (text, reasoning, calls) = Split(candidate.Content);
            var toolCalls = calls.Select(c => new ToolCall
            {
                Id = c.Id,
                Type = "function",
                Function = new FunctionCall { Name = c.Call.Name, Arguments = c.Arguments },
                Extra = c.Extra,
            }).ToList();
            choices.Add(new ChatChoice
            {
                Index = candidate.Index ?? i,
                Message = new ChatMessage
                {
                    Role = "assistant",
                    Content = text.Length > 0 || toolCalls.Count == 0 ? MessageContent.FromText(text) : null,
                    ToolCalls = toolCalls.Count > 0 ? toolCalls : null,
                    ReasoningContent = reasoning.Length > 0 ? reasoning : null,
                },
                FinishReason = FinishReason(candidate.FinishReason, toolCalls.Count > 0),
            });
        }

        return ProviderResult<ChatCompletion>.Ok(new ChatCompletion
        {
            Id = CompletionId(response),
            Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            Model = response.ModelVersion ?? model,
            Choices = choices,
            Usage = Usage(response.UsageMetadata),
        });
    }

    /// <summary>A prompt Gemini refused to answer at all: the caller's request is at fault, so a 400 that names the reason.</summary>
    public static UpstreamError? Blocked(string provider, GeminiResponse response) =>
        response is { PromptFeedback.BlockReason: { } reason, Candidates: null or { Count: 0 } }
            ? new UpstreamError(UpstreamErrorKind.Rejected, provider,
                $"Gemini blocked the prompt (blockReason {reason})" + (response.PromptFeedback.BlockReasonMessage is { } why ? $": {why}" : ".")
                + " Rephrase the request or change the workspace's provider.", 400)
            {
                Type = "invalid_request_error",
                Code = "content_policy_violation",
            }
            : null;

    /// <summary>
    /// Finish reasons that mean the model failed to produce a usable answer. OpenAI has no finish reason for them, and
    /// <c>stop</c> would tell the caller the answer is complete, so they become an upstream error.
    /// </summary>
    public static UpstreamError? Failure(string provider, GeminiCandidate candidate) =>
        candidate.FinishReason is "MALFORMED_FUNCTION_CALL" or "UNEXPECTED_TOOL_CALL" or "TOO_MANY_TOOL_CALLS"
            ? new UpstreamError(UpstreamErrorKind.Failed, provider,
                $"Gemini ended the answer with {candidate.FinishReason}: the model produced a function call it could not complete"
                + (candidate.FinishMessage is { Length: > 0 } message ? $" ({message})." : ".")
                + " No valid answer was produced; retrying may help.")
            : null;

    /// <summary>
    /// STOP is <c>stop</c>, or <c>tool_calls</c> when the turn calls functions (Gemini says STOP for both); the
    /// safety family is <c>content_filter</c>. OTHER, LANGUAGE and reasons added later have no better OpenAI word than <c>stop</c>.
    /// </summary>
    public static string? FinishReason(string? reason, bool hasToolCalls) => reason switch
    {
        null => null,
        "MAX_TOKENS" => "length",
        "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII"
            or "IMAGE_SAFETY" or "IMAGE_PROHIBITED_CONTENT" or "IMAGE_RECITATION" => "content_filter",
        _ when hasToolCalls => "tool_calls",
        _ => "stop",
    };

    /// <summary>Prompt, completion (answer plus thinking, as OpenAI counts reasoning tokens) and total; thinking and cache hits in the details.</summary>
    public static Usage? Usage(GeminiUsage? usage)
    {
        if (usage is null)
        {
            return null;
        }

        var completion = usage.CandidatesTokenCount + usage.ThoughtsTokenCount;
        var extra = new Dictionary<string, JsonElement>();
        if (usage.ThoughtsTokenCount > 0)
        {
            extra["completion_tokens_details"] = Details("reasoning_tokens", usage.ThoughtsTokenCount);
        }

        if (usage.CachedContentTokenCount > 0)
        {
            extra["prompt_tokens_details"] = Details("cached_tokens", usage.CachedContentTokenCount);
        }

        return new Usage
        {
            PromptTokens = usage.PromptTokenCount + usage.ToolUsePromptTokenCount,
            CompletionTokens = completion,
            TotalTokens = usage.TotalTokenCount > 0 ? usage.TotalTokenCount : usage.PromptTokenCount + usage.ToolUsePromptTokenCount + completion,
            Extra = extra.Count > 0 ? extra : null,
        };
    }

    /// <summary>A candidate's parts: answer text, thinking text, and function calls with their new ids and JSON arguments.</summary>
    public static (string Text, string Reasoning, List<TranslatedCall> Calls) Split(GeminiContent? content)
    {
        var text = new StringBuilder();
        var reasoning = new StringBuilder();
        var calls = new List<TranslatedCall>();
        foreach (var part in content?.Parts ?? [])
        {
            if (part.FunctionCall is { } call)
            {
                calls.Add(new TranslatedCall(
                    call,
                    call.Id is { Length: > 0 } id ? id : "call_" + Ids.UniqueBase62(24),
                    call.Args is { ValueKind: JsonValueKind.Object } args ? args.GetRawText() : "{}",
                    part.ThoughtSignature is { } signature ? SignatureExtra(signature) : null));
            }
            else if (part.Text is { } t)
            {
                (part.Thought == true ? reasoning : text).Append(t);
            }
        }

        return (text.ToString(), reasoning.ToString(), calls);
    }

    public static string CompletionId(GeminiResponse response) =>
        "chatcmpl-" + (response.ResponseId is { Length: > 0 } id ? id : Ids.UniqueBase62(24));

    /// <summary>Where Google's own OpenAI-compatible endpoint puts the signature, so it can come back on the next turn.</summary>
    private static Dictionary<string, JsonElement> SignatureExtra(string signature)
    {
        var json = JsonSerializer.SerializeToElement(
            new Dictionary<string, Dictionary<string, string>> { ["google"] = new() { ["thought_signature"] = signature } },
            GeminiJson.Default.DictionaryStringDictionaryStringString);
        return new Dictionary<string, JsonElement> { ["extra_content"] = json };
    }

    private static JsonElement Details(string name, int count) =>
        JsonSerializer.SerializeToElement(new Dictionary<string, int> { [name] = count }, GeminiJson.Default.DictionaryStringInt32);
}

/// <summary>A Gemini function call as an OpenAI tool call: its id, its arguments as JSON text, and any extra fields.</summary>
internal sealed record TranslatedCall(GeminiFunctionCall Call, string Id, string Arguments, Dictionary<string, JsonElement>? Extra);
