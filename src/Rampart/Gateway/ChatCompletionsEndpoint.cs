using Rampart.Auth;
using Rampart.Guardrails;
using Rampart.OpenAI;
using Rampart.Providers;
using Rampart.Providers.Demo;
using Rampart.Streaming;
using Rampart.Workspaces;

namespace Rampart.Gateway;

/// <summary>
/// <c>POST /api/v1/chat/completions</c>, top to bottom: authenticated caller → parse and validate → resolve the
/// workspace → apply its policy → pick the provider → complete or stream.
/// </summary>
internal static partial class ChatCompletionsEndpoint
{
    public static async Task HandleAsync(HttpContext http, AccessCache access, ProviderCatalog providers, ILogger<ChatCompletions> logger)
    {
        var cancellationToken = http.RequestAborted;
        var caller = http.GetCaller();

        var (request, invalid) = await ChatRequestReader.ReadAsync(http.Request, cancellationToken);
        if (request is null)
        {
            await invalid!.WriteAsync(http);
            return;
        }

        var (route, unroutable) = ModelResolver.Resolve(access.Current, caller, request.Model!, providers);
        if (route is null)
        {
            await unroutable!.WriteAsync(http);
            return;
        }

        var policy = route.Workspace.Policy;
        var (restore, restoreRefused) = ChatPlan.PiiRestoration(request, route.Workspace);
        if (restoreRefused is not null)
        {
            await restoreRefused.WriteAsync(http);
            return;
        }

        var piiMode = ChatPlan.StricterPii(request.Pii, policy.Pii);
        var vault = restore ? new PiiVault() : null;
        var guard = RequestGuard.Inspect(request, piiMode, policy.Secrets, vault);
        SetGuardrailHeaders(http.Response, guard);
        if (guard.Blocked is { } blocked)
        {
            await blocked.WriteAsync(http);
            return;
        }

        var plan = ChatPlan.Create(guard.Request, route);

        var choice = providers.Resolve(route.Provider);
        if (choice?.Provider is not { } provider)
        {
            var error = choice?.Error ?? new UpstreamError(UpstreamErrorKind.NotConfigured, route.Provider,
                $"Workspace '{route.Workspace.Name}' names the provider '{route.Provider}', which this gateway does not know.");
            await error.ToApiError().WriteAsync(http);
            return;
        }

        var rewriter = AnswerRewriter.Create(policy.ScanOutput ? new OutputScanner(scanPii: piiMode != "disabled") : null, vault);
        var upstream = choice.StandsInFor is null ? plan.Upstream : plan.Upstream with { Model = DemoProvider.ModelName };
        SetRouteHeaders(http.Response, route, provider.Name, upstream.Model!);

        try
        {
            if (request.IsStreaming)
            {
                await StreamAsync(http, provider, upstream, rewriter, cancellationToken);
            }
            else
            {
                await CompleteAsync(http, provider, upstream, rewriter, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away; the provider call was cancelled with it. Nothing left to answer.
            LogClientGone(logger, http.TraceIdentifier);
        }
    }

    private static async Task CompleteAsync(HttpContext http, IChatProvider provider, ChatCompletionRequest upstream, AnswerRewriter? rewriter, CancellationToken cancellationToken)
    {
        var result = await provider.CompleteAsync(upstream, cancellationToken);
        if (result.Error is { } error)
        {
            await error.ToApiError().WriteAsync(http);
            return;
        }

        var completion = rewriter?.Rewrite(result.Value!) ?? result.Value!;
        if (rewriter?.Scanner is { } scanner)
        {
            http.Response.Headers["x-rampart-output"] = $"secrets={scanner.SecretsRedacted}, pii={scanner.PiiRedacted}; action=redact";
        }

        await http.Response.WriteAsJsonAsync(completion, OpenAIJson.Wire.ChatCompletion, contentType: "application/json", cancellationToken);
    }

    private static async Task StreamAsync(HttpContext http, IChatProvider provider, ChatCompletionRequest upstream, AnswerRewriter? rewriter, CancellationToken cancellationToken)
    {
        var result = await provider.StreamAsync(upstream, cancellationToken);
        if (result.Error is { } error)
        {
            // Nothing has been sent yet, so the failure still gets its proper status code.
            await error.ToApiError().WriteAsync(http);
            return;
        }

        using var sse = new SseWriter(http.Response);
        await sse.StartAsync(cancellationToken);
        try
        {
            await foreach (var chunk in result.Value!.WithCancellation(cancellationToken))
            {
                if ((rewriter is null ? chunk : rewriter.Rewrite(chunk)) is { } outgoing)
                {
                    await sse.WriteAsync(outgoing, cancellationToken);
                }
            }

            foreach (var held in rewriter?.Flush() ?? [])
            {
                await sse.WriteAsync(held, cancellationToken);
            }

            await sse.WriteDoneAsync(cancellationToken);
        }
        catch (UpstreamException ex)
        {
            await sse.WriteErrorAsync(ex.Error.ToApiError(), cancellationToken);
        }
    }

    /// <summary>Counts per type and the action taken, never values: <c>x-rampart-pii: email=2; action=obfuscate</c>.</summary>
    private static void SetGuardrailHeaders(HttpResponse response, GuardrailOutcome guard)
    {
        if (guard.Secrets.Any())
        {
            response.Headers["x-rampart-secrets"] = RequestGuard.Summary(guard.Secrets, guard.Blocked is null ? guard.SecretsMode : "block");
        }

        if (guard.Pii.Any())
        {
            response.Headers["x-rampart-pii"] = RequestGuard.Summary(guard.Pii, guard.PiiMode);
        }
    }

    private static void SetRouteHeaders(HttpResponse response, ModelRoute route, string provider, string model)
    {
        response.Headers["x-rampart-workspace"] = route.Workspace.Name;
        response.Headers["x-rampart-provider"] = provider;
        response.Headers["x-rampart-model"] = model;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Request {RequestId}: client disconnected; upstream call cancelled")]
    private static partial void LogClientGone(ILogger logger, string requestId);
}

/// <summary>Log category for the chat endpoint.</summary>
internal sealed class ChatCompletions;
