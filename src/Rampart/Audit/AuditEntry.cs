using System.Diagnostics;
using Rampart.Auth;
using Rampart.OpenAI;
using Rampart.Providers;
using Rampart.Routing;
using Rampart.Workspaces;

namespace Rampart.Audit;

/// <summary>
/// The audit record of the request in flight, kept in <c>HttpContext.Features</c>: the audit middleware opens and
/// closes it, authentication and the endpoint fill in what they learn. Touched by one request at a time.
/// </summary>
internal sealed class AuditEntry(string id, long createdAt)
{
    private const int MaxTextLength = 200;

    private readonly long _started = Stopwatch.GetTimestamp();
    private ChatCompletionRequest? _upstream;
    private long _streamedChars;

    public string Id { get; } = id;

    public long CreatedAt { get; } = createdAt;

    public string? Endpoint { get; set; }

    public string? UserId { get; private set; }

    public string? KeyId { get; private set; }

    public string? WorkspaceId { get; private set; }

    public string? Workspace { get; private set; }

    public string? RequestedModel { get; private set; }

    public string? Provider { get; private set; }

    public string? ServedModel { get; private set; }

    /// <summary>Set by the handler when it knows better than the status code (blocked, stream failed, client gone).</summary>
    public string? Outcome { get; set; }

    public string? ErrorCode { get; set; }

    public List<string> Verdicts { get; } = [];

    public bool Stream { get; private set; }

    public int Attempts { get; private set; }

    public Usage? Usage { get; private set; }

    public double? TtftMs { get; private set; }

    public string? ClientIp { get; set; }

    public string? UserAgent { get; set; }

    public void SetCaller(Caller caller)
    {
        UserId = caller.User.Id;
        KeyId = caller.KeyId;
    }

    public void SetRequest(ChatCompletionRequest request)
    {
        RequestedModel = request.Model;
        Stream = request.IsStreaming;
    }

    public void SetWorkspace(Workspace workspace)
    {
        WorkspaceId = workspace.Id;
        Workspace = workspace.Name;
    }

    /// <summary>The request as sent upstream, kept only to estimate its tokens when the provider reports none.</summary>
    public void SetUpstream(ChatCompletionRequest upstream) => _upstream = upstream;

    public void SetRouted(ServedBy? served, UpstreamError? error, int attempts)
    {
        Attempts = attempts;
        if (served is not null)
        {
            Provider = served.Provider.Name;
            ServedModel = served.StandsInFor is null ? served.Target.Model : Providers.Demo.DemoProvider.ModelName;
        }
        else if (error is not null)
        {
            Provider = error.Provider;
        }
    }

    public void SetUsage(Usage? usage) => Usage = usage ?? Usage;

    /// <summary>Takes the usage of a streamed chunk if it has one, and counts the generated text for an estimate otherwise.</summary>
    public void Streamed(ChatCompletionChunk chunk)
    {
        SetUsage(chunk.Usage);
        var choices = chunk.Choices;
        for (var i = 0; i < choices.Count; i++) // not foreach: an IReadOnlyList's enumerator is an allocation per chunk
        {
            var delta = choices[i].Delta;
            _streamedChars += (delta.Content?.Length ?? 0) + (delta.ReasoningContent?.Length ?? 0) + (delta.Refusal?.Length ?? 0)
                + (delta.ToolCalls?.Sum(t => t.Function?.Arguments?.Length ?? 0) ?? 0);
        }
    }

    /// <summary>The first byte of a streamed answer has gone to the caller.</summary>
    public void FirstByte() => TtftMs ??= ElapsedMs();

    public void Failed(ApiError error) => ErrorCode ??= error.Code ?? error.Type;

    public AuditRecord Complete(int status, PriceTable prices)
    {
        var outcome = Outcome ?? AuditOutcomes.FromStatus(status);
        if (outcome == AuditOutcomes.ClientDisconnected)
        {
            status = AuditOutcomes.ClientClosedRequest;
        }

        var (prompt, completion, estimated) = Tokens();
        return new AuditRecord
        {
            Id = Id,
            CreatedAt = CreatedAt,
            Endpoint = Endpoint,
            UserId = UserId,
            KeyId = KeyId,
            WorkspaceId = WorkspaceId,
            Workspace = Workspace,
            RequestedModel = AuditText.Clean(RequestedModel, MaxTextLength),
            Provider = Provider,
            // Caller-controlled when the request named a provider model directly.
            ServedModel = AuditText.Clean(ServedModel, MaxTextLength),
            Status = status,
            Outcome = outcome,
            ErrorCode = ErrorCode,
            Verdicts = Verdicts,
            Stream = Stream,
            Attempts = Attempts,
            PromptTokens = prompt,
            CompletionTokens = completion,
            TokensEstimated = estimated,
            CostUsd = prompt is null ? null : prices.Cost(Provider, ServedModel, prompt.Value, completion ?? 0),
            LatencyMs = ElapsedMs(),
            TtftMs = TtftMs,
            ClientIp = ClientIp,
            UserAgent = AuditText.Clean(UserAgent, MaxTextLength),
        };
    }

    /// <summary>The provider's counts; else, when a provider answered (fully or in part), an estimate of about four characters per token.</summary>
    private (long? Prompt, long? Completion, bool Estimated) Tokens()
    {
        if (Usage is { } usage)
        {
            return (usage.PromptTokens, usage.CompletionTokens, false);
        }

        // Only a provider that accepted the request may bill for it; a refused or failed call reports nothing to estimate.
        if (ServedModel is null || _upstream is null)
        {
            return (null, null, false);
        }

        return (TokenEstimate.FromChars(TokenEstimate.PromptChars(_upstream)), TokenEstimate.FromChars(_streamedChars), true);
    }

    /// <summary>Milliseconds to the microsecond: a fast stream's first byte and its end can fall within the same millisecond.</summary>
    private double ElapsedMs() => Math.Round(Stopwatch.GetElapsedTime(_started).TotalMilliseconds, 3);
}

internal static class AuditEntryExtensions
{
    /// <summary>The request's audit entry; a detached one outside <c>/api/v1</c>, so callers never check for null.</summary>
    public static AuditEntry Audit(this HttpContext http)
    {
        if (http.Features.Get<AuditEntry>() is { } entry)
        {
            return entry;
        }

        entry = new AuditEntry(http.TraceIdentifier, 0);
        http.Features.Set(entry);
        return entry;
    }
}

/// <summary>A rough token count for when a provider reports none: about four characters per token, as OpenAI's guidance puts it.</summary>
internal static class TokenEstimate
{
    public static long FromChars(long chars) => (chars + 3) / 4;

    public static long PromptChars(ChatCompletionRequest request)
    {
        long chars = request.System?.Length ?? 0;
        foreach (var message in request.Messages ?? [])
        {
            chars += message.Content?.Text?.Length ?? 0;
            chars += message.Content?.Parts?.Sum(p => p.Text?.Length ?? 0) ?? 0;
            chars += message.ToolCalls?.Sum(t => t.Function?.Arguments?.Length ?? 0) ?? 0;
        }

        return chars;
    }
}
