using Rampart.Auth;
using Rampart.OpenAI;

namespace Rampart.Gateway;

internal static class GatewayApi
{
    /// <summary>The OpenAI-compatible API at <c>/api/v1</c>, and at <c>/v1</c> for clients that assume OpenAI's path.</summary>
    public static IEndpointRouteBuilder MapGatewayApi(this IEndpointRouteBuilder endpoints)
    {
        var chat = ChatCompletionsEndpoint.Bind(endpoints.ServiceProvider);
        foreach (var prefix in ApiPaths.Prefixes)
        {
            var api = endpoints.MapGroup(prefix).RequireApiKey().WithTags("Chat and models");
            if (prefix != ApiPaths.Prefixes[0])
            {
                // The alias serves the same operations; the OpenAPI document lists them once.
                api.ExcludeFromDescription();
            }

            api.MapGet("/models", ModelsEndpoints.List).Produces<ModelList>().WithSummary("The workspaces the caller may use, as OpenAI models.");
            api.MapGet("/models/{**name}", ModelsEndpoints.Retrieve).Produces<ModelInfo>().WithSummary("One workspace as an OpenAI model.");
            // As a Delegate, not a RequestDelegate: the generated endpoint carries the OpenAPI metadata below.
            api.MapPost("/chat/completions", (Delegate)((HttpContext http) => chat(http)))
                // No Accepts<> here: its content-type check would answer 415 before the handler's own, more precise 400.
                .Produces<ChatCompletion>(contentType: "application/json", additionalContentTypes: ["text/event-stream"])
                .WithSummary("OpenAI chat completions (model = workspace name), through the guardrails; streams with \"stream\": true.");
        }

        return endpoints;
    }
}

internal static class ApiPaths
{
    public static readonly string[] Prefixes = ["/api/v1", "/v1"];

    public static bool IsApi(PathString path)
    {
        foreach (var prefix in Prefixes)
        {
            if (path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
