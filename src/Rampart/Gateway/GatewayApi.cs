namespace Rampart.Gateway;

internal static class GatewayApi
{
    /// <summary>The OpenAI-compatible API at <c>/api/v1</c>, and at <c>/v1</c> for clients that assume OpenAI's path.</summary>
    public static IEndpointRouteBuilder MapGatewayApi(this IEndpointRouteBuilder endpoints)
    {
        foreach (var prefix in ApiPaths.Prefixes)
        {
            var api = endpoints.MapGroup(prefix).RequireAuthorization();
            api.MapGet("/models", ModelsEndpoints.List);
            api.MapGet("/models/{**name}", ModelsEndpoints.Retrieve);
            api.MapPost("/chat/completions", ChatCompletionsEndpoint.HandleAsync);
        }

        return endpoints;
    }
}

internal static class ApiPaths
{
    public static readonly string[] Prefixes = ["/api/v1", "/v1"];

    public static bool IsApi(PathString path) => Prefixes.Any(p => path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));
}
