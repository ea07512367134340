using System.Threading.RateLimiting;
using Rampart.Audit;
using Rampart.Auth;
using Rampart.Guardrails;
using Rampart.Guardrails.Rules;
using Rampart.Hosting;
using Rampart.OpenAI;
using Rampart.Operations;
using Rampart.Providers;
using Rampart.Providers.Demo;
using Rampart.Routing;
using Rampart.Search;
using Rampart.Streaming;
using Rampart.Workspaces;

namespace Rampart.Gateway;

/// <summary>
/// <c>POST /api/v1/chat/completions</c>, top to bottom: authenticated caller → admission (a bounded number of requests
/// are parsed and scanned at once) → parse and validate → resolve the workspace → guardrails on the request → firewall
/// rules (hours, tripwires, topics, volume limits) → apply its policy → route to a provider (retries, fallbacks) →
/// complete or stream → guardrails on the answer (output scan, restoration, canary) → settle the volume limits with
/// the reported usage. Each step notes what it learned on the request's <see cref="AuditEntry"/>; the audit middleware
/// records it whatever the outcome.
/// </summary>
internal static partial class ChatCompletionsEndpoint
{
    /// <summary>
    /// The handler with its dependencies, all singletons, resolved once: bound per request from the request's services,
    /// they cost a look-up each every time (docs/benchmarks.md, "Authentication without the framework's schemes").
    /// </summary>
    public static Func<HttpContext, Task> Bind(IServiceProvider services)
    {
        var admission = services.GetRequiredService<Admission>();
        var access = services.GetRequiredService<AccessCache>();
        var providers = services.GetRequiredService<ProviderCatalog>();
        var router = services.GetRequiredService<Router>();
        var firewalls = services.GetRequiredService<Firewall>();
        var search = services.GetRequiredService<WebSearch>();
        var metrics = services.GetRequiredService<GatewayMetrics>();
        var logger = services.GetRequiredService<ILogger<ChatCompletions>>();
        return http => HandleAsync(http, admission, access, providers, router, firewalls, search, metrics, logger);
    }

    private static async Task HandleAsync(HttpContext http, Admission admission, AccessCache access, ProviderCatalog providers, Router router, Firewall firewalls, WebSearch search,
        GatewayMetrics metrics, ILogger<ChatCompletions> logger)
    {
        var cancellationToken = http.RequestAborted;
        var caller = http.GetCaller();
        var audit = http.Audit();

        // Released, so that the next request may be prepared, before the firewall and the provider call: see Admission.
        using var place = await EnterAsync(http, admission, cancellationToken);
        if (place is null)
        {
            return;
        }

        var (request, invalid) = await ChatRequestReader.ReadAsync(http.Request, cancellationToken);
        if (request is null)
        {
            await invalid!.WriteAsync(http);
            return;
        }

        audit.SetRequest(request);

        var snapshot = access.Current;
        var (route, unroutable) = ModelResolver.Resolve(snapshot, caller, request.Model!, providers);
        if (route is null)
        {
            await unroutable!.WriteAsync(http);
            return;
        }

        audit.SetWorkspace(route.Workspace);

        var policy = route.Workspace.Policy;
        var (restore, restoreRefused) = ChatPlan.PiiRestoration(request, route.Workspace);
        if ((restoreRefused ?? ChatPlan.LogprobsRefusal(request, route.Workspace)) is { } refusedByPolicy)
        {
            await refusedByPolicy.WriteAsync(http);
            return;
        }

        var piiMode = ChatPlan.StricterPii(request.Pii, policy.Pii);
        var vault = restore ? new PiiVault() : null;
        var guard = RequestGuard.Inspect(request, piiMode, policy.Secrets, vault);
        SetGuardrailHeaders(http.Response, guard);
        audit.Verdicts.AddRange(AuditVerdicts.Of(guard));
        if (guard.Blocked is { } blocked)
        {
            audit.Outcome = AuditOutcomes.Blocked;
            await blocked.WriteAsync(http);
            return;
        }

        place.Dispose();
        Func<string, ProviderCredential?> credentialFor = provider => snapshot.CredentialFor(route.Workspace.Id, provider);
        var firewall = await firewalls.AdmitAsync(caller, route, guard.Request, credentialFor, cancellationToken);
        firewall.WriteHeaders(http.Response);
        if (firewall.Refused is { } refused)
        {
            audit.Verdicts.AddRange(firewall.Verdicts);
            audit.Outcome = refused.Status == StatusCodes.Status429TooManyRequests ? AuditOutcomes.RateLimited : AuditOutcomes.Blocked;
            await refused.WriteAsync(http);
            return;
        }

        var engine = search.For(route.Workspace, credentialFor);
        var plan = ChatPlan.Create(guard.Request, route, firewall.Canary?.SystemNote, firewall.NeedsUsage,
            searchAvailable: engine.Backend is not null || engine.Unavailable is not null);
        audit.SetUpstream(plan.Upstream);

        var rewriter = AnswerRewriter.Create(policy.ScanOutput ? new OutputScanner(scanPii: piiMode != "disabled") : null, vault, firewall.Canary);
        IReadOnlyList<RouteTarget> targets = route.Direct || policy.Routing.Fallbacks.Count == 0
            ? [new RouteTarget(route.Provider, route.Model)]
            : [new RouteTarget(route.Provider, route.Model), .. policy.Routing.Fallbacks.Select(RouteTarget.Parse)];

        var routing = new RoutingRequest(targets, policy.Routing, credentialFor);
        if (plan.WebSearch && engine.Unavailable is { } unavailable)
        {
            // The workspace chose an engine it cannot use: the request goes ahead without web search, and says why.
            http.Response.Headers["x-rampart-web-search"] = $"off; {unavailable}";
            audit.Verdicts.Add($"Web search off: {unavailable}");
        }

        try
        {
            if (plan.WebSearch && engine.Backend is { } backend && WebSearchLoop.Applies(plan.Upstream))
            {
                // A model that cannot call tools gets the search first, by the workspace's word or its provider's nature.
                var searchFirst = policy.Search?.SearchFirst == true || !providers.SupportsTools(route.Provider, credentialFor(route.Provider));
                var session = new SearchSession(search, backend, piiMode, policy.Secrets, searchFirst);
                await SearchThenAnswerAsync(http, router, routing, route, plan.Upstream, session, rewriter, firewall, metrics, cancellationToken);
            }
            else if (request.IsStreaming)
            {
                await StreamAsync(http, router, routing, route, plan.Upstream, rewriter, firewall, metrics, cancellationToken);
            }
            else
            {
                await CompleteAsync(http, router, routing, route, plan.Upstream, rewriter, firewall, cancellationToken);
            }
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && (ex is OperationCanceledException or IOException or UpstreamException or SearchRoundException))
        {
            // The client went away; the provider call was cancelled with it. Nothing left to answer. Cancelling a
            // provider's stream can end it in a read error rather than a cancellation: that too is the client leaving,
            // not the provider failing (the stream methods leave such errors to this catch).
            LogClientGone(logger, http.TraceIdentifier);
            audit.Outcome = AuditOutcomes.ClientDisconnected;
        }
        finally
        {
            await firewall.SettleAsync(CancellationToken.None);
            audit.Verdicts.AddRange(firewall.Verdicts);
        }
    }

    /// <summary>A place in <see cref="Admission"/>; null when the gateway answered 503 instead, or the caller left while waiting.</summary>
    private static async Task<RateLimitLease?> EnterAsync(HttpContext http, Admission admission, CancellationToken cancellationToken)
    {
        try
        {
            var (place, busy) = await admission.EnterAsync(http.Request, cancellationToken);
            if (busy is not null)
            {
                http.Audit().Outcome = AuditOutcomes.Overloaded;
                await busy.WriteAsync(http);
            }

            return place;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static async Task CompleteAsync(HttpContext http, Router router, RoutingRequest routing, ModelRoute route,
        ChatCompletionRequest upstream, AnswerRewriter? rewriter, FirewallPass firewall, CancellationToken cancellationToken)
    {
        var result = await router.CompleteAsync(routing.Targets, routing.Policy, routing.CredentialFor, upstream, cancellationToken);
        await AnswerAsync(http, result, route, rewriter, firewall, sources: null, cancellationToken);
    }

    /// <summary>
    /// The gateway's web search: model rounds with searches in between (each query guarded on its way out) until the
    /// model answers; a streaming request gets every round's text as it is generated.
    /// </summary>
    private static async Task SearchThenAnswerAsync(HttpContext http, Router router, RoutingRequest routing, ModelRoute route, ChatCompletionRequest upstream,
        SearchSession session, AnswerRewriter? rewriter, FirewallPass firewall, GatewayMetrics metrics, CancellationToken cancellationToken)
    {
        if (upstream.IsStreaming)
        {
            await StreamSearchedAsync(http, route, new WebSearchStream(router, routing, upstream, session), session, rewriter, firewall, metrics, cancellationToken);
            return;
        }

        var answer = await WebSearchLoop.CompleteAsync(router, routing, upstream, session, cancellationToken);
        http.Response.Headers["x-rampart-web-search"] = $"searches={session.Searches.ToString(System.Globalization.CultureInfo.InvariantCulture)}; backend={session.Backend.Name}";

        // The count and the engine, never the queries.
        var audit = http.Audit();
        audit.Verdicts.AddRange(session.Verdicts(answer.Blocked));
        if (answer.Blocked is { } blocked)
        {
            audit.Outcome = AuditOutcomes.Blocked;
            audit.Failed(blocked);
            await blocked.WriteAsync(http);
            return;
        }

        await AnswerAsync(http, answer.Result, route, rewriter, firewall, answer.Sources, cancellationToken);
    }

    /// <summary>
    /// A searched answer streamed as it is generated. Headers and the stream open with the first chunk for the caller,
    /// so a failure before it (a refused query, a failed round) still gets its own status code.
    /// </summary>
    private static async Task StreamSearchedAsync(HttpContext http, ModelRoute route, WebSearchStream searched, SearchSession session,
        AnswerRewriter? rewriter, FirewallPass firewall, GatewayMetrics metrics, CancellationToken cancellationToken)
    {
        var audit = http.Audit();
        SseWriter? sse = null;
        ApiError? blocked = null;
        async Task<SseWriter> OpenAsync()
        {
            if (sse is null)
            {
                http.Response.Headers["x-rampart-web-search"] = $"backend={session.Backend.Name}";
                SetRouteHeaders(http.Response, route, searched.ServedBy!);
                firewall.Answered(searched.ServedBy!);
                sse = new SseWriter(http.Response, metrics);
                await sse.StartAsync(cancellationToken);
            }

            return sse;
        }

        try
        {
            await foreach (var received in searched.StreamAsync(cancellationToken).WithCancellation(cancellationToken))
            {
                audit.Streamed(received);
                if (await firewall.MeteredAsync(received, searched.ServedBy!) is { } chunk && (rewriter is null ? chunk : rewriter.Rewrite(chunk)) is { } outgoing)
                {
                    await (await OpenAsync()).WriteAsync(outgoing, cancellationToken);
                    audit.FirstByte();
                }
            }

            var writer = await OpenAsync();
            foreach (var held in rewriter?.Flush() ?? [])
            {
                await writer.WriteAsync(held, cancellationToken);
            }

            await writer.WriteDoneAsync(cancellationToken);
        }
        catch (Exception ex) when ((ex is SearchRoundException or UpstreamException) && !cancellationToken.IsCancellationRequested)
        {
            var error = ex is SearchRoundException round ? round.Error : ((UpstreamException)ex).Error.ToApiError();
            blocked = error.Code is "secret_detected" or "pii_detected" ? error : null;
            audit.Failed(error);
            audit.Outcome = blocked is not null ? AuditOutcomes.Blocked : AuditOutcomes.StreamFailed;
            if (sse is null)
            {
                http.Response.Headers["x-rampart-web-search"] = $"backend={session.Backend.Name}";
                await error.WriteAsync(http);
            }
            else
            {
                await sse.WriteErrorAsync(error, cancellationToken);
            }
        }
        finally
        {
            audit.SetRouted(searched.ServedBy, null, searched.Attempts);
            audit.Verdicts.AddRange(session.Verdicts(blocked));
            if (AuditVerdicts.Output(rewriter?.Scanner) is { } outputVerdict)
            {
                audit.Verdicts.Add(outputVerdict);
            }

            sse?.Dispose();
        }
    }

    /// <param name="sources">Web search results to cite on the answer, by choice index.</param>
    private static async Task AnswerAsync(HttpContext http, Routed<ChatCompletion> result, ModelRoute route, AnswerRewriter? rewriter, FirewallPass firewall,
        IReadOnlyDictionary<int, IReadOnlyList<SearchResult>>? sources, CancellationToken cancellationToken)
    {
        var audit = http.Audit();
        audit.SetRouted(result.ServedBy, result.Error, result.Attempts);
        if (result.Error is { } error)
        {
            await error.ToApiError().WriteAsync(http);
            return;
        }

        await firewall.SettleAsync(result.ServedBy, result.Value!.Usage, CancellationToken.None);
        SetRouteHeaders(http.Response, route, result.ServedBy!);
        audit.SetUsage(result.Value!.Usage);
        var completion = rewriter?.Rewrite(result.Value!) ?? result.Value!;
        completion = sources is null ? completion : WebSearchLoop.Cite(completion, sources);
        if (AuditVerdicts.Output(rewriter?.Scanner) is { } outputVerdict)
        {
            audit.Verdicts.Add(outputVerdict);
        }

        firewall.WriteHeaders(http.Response);
        if (rewriter?.Scanner is { } scanner)
        {
            http.Response.Headers["x-rampart-output"] = $"secrets={scanner.SecretsRedacted}, pii={scanner.PiiRedacted}; action=redact";
        }

        if (completion.Upstream is { IsEmpty: false } upstream)
        {
            // The provider's answer as it came: nothing above rewrote it.
            http.Response.ContentType = "application/json";
            http.Response.ContentLength = upstream.Length;
            await http.Response.BodyWriter.WriteAsync(upstream, cancellationToken);
            return;
        }

        await http.Response.WriteAsJsonAsync(completion, OpenAIJson.Wire.ChatCompletion, contentType: "application/json", cancellationToken);
    }

    private static async Task StreamAsync(HttpContext http, Router router, RoutingRequest routing, ModelRoute route,
        ChatCompletionRequest upstream, AnswerRewriter? rewriter, FirewallPass firewall, GatewayMetrics metrics, CancellationToken cancellationToken)
    {
        var result = await router.StreamAsync(routing.Targets, routing.Policy, routing.CredentialFor, upstream, cancellationToken);
        var audit = http.Audit();
        audit.SetRouted(result.ServedBy, result.Error, result.Attempts);
        if (result.Error is { } error)
        {
            // Nothing has been sent yet, so the failure still gets its proper status code.
            await error.ToApiError().WriteAsync(http);
            return;
        }

        SetRouteHeaders(http.Response, route, result.ServedBy!);
        firewall.Answered(result.ServedBy!);
        using var sse = new SseWriter(http.Response, metrics);
        await sse.StartAsync(cancellationToken);
        try
        {
            await foreach (var received in result.Value!.WithCancellation(cancellationToken))
            {
                audit.Streamed(received);
                if (await firewall.MeteredAsync(received, result.ServedBy!) is { } chunk && (rewriter is null ? chunk : rewriter.Rewrite(chunk)) is { } outgoing)
                {
                    await sse.WriteAsync(outgoing, cancellationToken);
                    audit.FirstByte();
                }
            }

            foreach (var held in rewriter?.Flush() ?? [])
            {
                await sse.WriteAsync(held, cancellationToken);
            }

            await sse.WriteDoneAsync(cancellationToken);
        }
        catch (UpstreamException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // After the first byte there is no retrying: the caller gets a clean error event instead.
            audit.Outcome = AuditOutcomes.StreamFailed;
            audit.Failed(ex.Error.ToApiError());
            await sse.WriteErrorAsync(ex.Error.ToApiError(), cancellationToken);
        }
        finally
        {
            if (AuditVerdicts.Output(rewriter?.Scanner) is { } outputVerdict)
            {
                audit.Verdicts.Add(outputVerdict);
            }
        }
    }

    /// <summary>Counts per type and the action taken, never values: <c>x-rampart-pii: email=2; action=obfuscate</c>.</summary>
    private static void SetGuardrailHeaders(HttpResponse response, GuardrailOutcome guard)
    {
        if (guard.Hits.Count == 0)
        {
            return;
        }

        if (RequestGuard.Summary(guard.Hits, secrets: true, guard.Blocked is null ? guard.SecretsMode : "block") is { } secrets)
        {
            response.Headers["x-rampart-secrets"] = secrets;
        }

        if (RequestGuard.Summary(guard.Hits, secrets: false, guard.PiiMode) is { } pii)
        {
            response.Headers["x-rampart-pii"] = pii;
        }
    }

    private static void SetRouteHeaders(HttpResponse response, ModelRoute route, ServedBy served)
    {
        response.Headers["x-rampart-workspace"] = route.Workspace.Name;
        response.Headers["x-rampart-provider"] = served.Provider.Name;
        response.Headers["x-rampart-model"] = served.StandsInFor is null ? served.Target.Model : DemoProvider.ModelName;
        if (served.Attempts > 1)
        {
            response.Headers["x-rampart-attempts"] = served.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Request {RequestId}: client disconnected; upstream call cancelled")]
    private static partial void LogClientGone(ILogger logger, string requestId);
}

/// <summary>Where a request may go: its targets in order, the workspace's routing policy, and its own provider credentials.</summary>
internal sealed record RoutingRequest(IReadOnlyList<RouteTarget> Targets, RoutingPolicy Policy, Func<string, ProviderCredential?> CredentialFor);

/// <summary>Log category for the chat endpoint.</summary>
internal sealed class ChatCompletions;
