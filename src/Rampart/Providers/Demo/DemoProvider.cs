using System.Runtime.CompilerServices;
using Rampart.Data;
using Rampart.OpenAI;

namespace Rampart.Providers.Demo;

/// <summary>
/// The built-in offline model <c>local/demo</c>: deterministic, no network, streams word by word.
/// It answers for any provider that has no credentials, so a fresh gateway works with its first request,
/// and it says plainly that it is the demo. It echoes the start of the last user message as the gateway
/// forwarded it, which makes the effect of the guardrails visible.
/// </summary>
internal sealed class DemoProvider(TimeSpan wordDelay, string? standsInFor = null) : IChatProvider
{
    public const string ProviderName = "local";
    public const string ModelName = "demo";
    public const string ModelId = ProviderName + "/" + ModelName;
    private const int EchoLength = 160;

    public string Name => ProviderName;

    /// <summary>The demo never calls tools: web search reaches it as results searched first.</summary>
    public bool SupportsTools => false;

    /// <summary>The same demo answering in place of an unconfigured provider.</summary>
    public DemoProvider StandingInFor(string provider) => new(wordDelay, provider);

    public Task<ProviderResult<ChatCompletion>> CompleteAsync(ChatCompletionRequest request, CancellationToken cancellationToken)
    {
        var (words, finishReason) = Answer(request);
        var completion = new ChatCompletion
        {
            Id = NewId(),
            Created = Now(),
            Model = ModelId,
            Choices = [.. Enumerable.Range(0, request.N ?? 1).Select(i => new ChatChoice
            {
                Index = i,
                Message = ChatMessage.FromText("assistant", string.Concat(words)),
                FinishReason = finishReason,
            })],
            Usage = Usage(request, words.Count * (request.N ?? 1)),
        };
        return Task.FromResult(ProviderResult<ChatCompletion>.Ok(completion));
    }

    public Task<ProviderResult<IAsyncEnumerable<ChatCompletionChunk>>> StreamAsync(ChatCompletionRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(ProviderResult<IAsyncEnumerable<ChatCompletionChunk>>.Ok(StreamWordsAsync(request, cancellationToken)));

    private async IAsyncEnumerable<ChatCompletionChunk> StreamWordsAsync(ChatCompletionRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (words, finishReason) = Answer(request);
        var id = NewId();
        var created = Now();
        var n = request.N ?? 1;
        ChatCompletionChunk Chunk(int index, ChatDelta delta, string? finish = null) => new()
        {
            Id = id,
            Created = created,
            Model = ModelId,
            Choices = [new ChunkChoice { Index = index, Delta = delta, FinishReason = finish }],
        };

        for (var i = 0; i < n; i++)
        {
            yield return Chunk(i, new ChatDelta { Role = "assistant", Content = "" });
        }

        foreach (var word in words)
        {
            if (wordDelay > TimeSpan.Zero)
            {
                await Task.Delay(wordDelay, cancellationToken);
            }

            cancellationToken.ThrowIfCancellationRequested();
            for (var i = 0; i < n; i++)
            {
                yield return Chunk(i, new ChatDelta { Content = word });
            }
        }

        for (var i = 0; i < n; i++)
        {
            yield return Chunk(i, new ChatDelta(), finishReason);
        }

        if (request.IncludeUsageInStream)
        {
            yield return new ChatCompletionChunk { Id = id, Created = created, Model = ModelId, Choices = [], Usage = Usage(request, words.Count * n) };
        }
    }

    private (IReadOnlyList<string> Words, string FinishReason) Answer(ChatCompletionRequest request)
    {
        var lastUser = request.Messages?.LastOrDefault(m => m.Role == "user")?.Content?.JoinedText() ?? "";
        var echo = lastUser.Length <= EchoLength ? lastUser : lastUser[..EchoLength] + "…";
        var why = standsInFor is null
            ? "You asked for the offline demo model,"
            : $"The provider '{standsInFor}' has no credentials configured on this gateway,";
        var hint = standsInFor is null
            ? "Pick a workspace or model backed by a real provider to get real answers."
            : $"Set {ProviderCatalog.KeyVariable(standsInFor)} (or point the workspace at another provider) and restart to get real answers.";
        var text = $"Hello from Rampart's offline demo model ({ModelId}). {why} so this answer was written on this machine and nothing was sent to any AI provider. "
                   + $"Your last message, as the gateway would forward it, was: \"{echo}\". {hint}";

        var words = SplitWords(text);
        var limit = request.MaxCompletionTokens ?? request.MaxTokens;
        return limit is { } max && max < words.Count ? (words.Take(max).ToList(), "length") : (words, "stop");
    }

    /// <summary>Splits into words that each keep their leading space, so the concatenation is the original text.</summary>
    internal static List<string> SplitWords(string text)
    {
        var words = new List<string>();
        var start = 0;
        for (var i = 1; i <= text.Length; i++)
        {
            if (i == text.Length || (text[i] == ' ' && text[i - 1] != ' '))
            {
                words.Add(text[start..i]);
                start = i;
            }
        }

        return words;
    }

    private static Usage Usage(ChatCompletionRequest request, int completionTokens)
    {
        // A deterministic estimate (about four characters a token), as the demo has no tokenizer.
        var promptChars = request.Messages?.Sum(m => (m.Content?.JoinedText().Length ?? 0) + 4) ?? 0;
        var promptTokens = Math.Max(1, (promptChars + 3) / 4);
        return new Usage { PromptTokens = promptTokens, CompletionTokens = completionTokens, TotalTokens = promptTokens + completionTokens };
    }

    private static string NewId() => "chatcmpl-demo" + Ids.UniqueBase62(20);

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
