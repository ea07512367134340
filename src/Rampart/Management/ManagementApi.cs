using System.Text.Json;
using System.Text.Json.Serialization;
using Rampart.Auth;
using Rampart.Data;
using Rampart.OpenAI;

namespace Rampart.Management;

/// <summary>
/// The management API under <c>/api/v1</c>: users, workspaces (policy, members, provider credentials), keys, audit
/// and usage. Same bearer keys and error envelope as the chat API; every endpoint checks the caller's role itself.
/// Its OpenAPI document, with the chat and models API, is at <see cref="OpenApiPath"/>.
/// </summary>
internal static class ManagementApi
{
    public const string OpenApiPath = "/api/v1/openapi.json";

    public static IServiceCollection AddRampartManagement(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(1, ManagementJson.Default);
            // The OpenAPI schemas are generated from these options: make them say what the wire carries (snake_case, numbers as numbers).
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        });
        services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Rampart API";
            document.Info.Description =
                "OpenAI-compatible chat completions and models, and the management API. Authenticate with 'Authorization: Bearer <key>'; "
                + "every error is OpenAI's envelope {\"error\":{\"message\",\"type\",\"param\",\"code\"}}.";
            return Task.CompletedTask;
        }));
        return services;
    }

    public static WebApplication MapManagementApi(this WebApplication app)
    {
        app.MapOpenApi(OpenApiPath).AllowAnonymous();

        var api = app.MapGroup("/api/v1").RequireApiKey();
        // Refusals the store decides (a duplicate email, an unknown role, a user who is not a member) are the caller's to fix.
        api.AddEndpointFilter(async (context, next) =>
        {
            if (NulIn(context.HttpContext.Request) is { } param)
            {
                return ApiError.InvalidRequest($"'{param}' must not contain the NUL character (U+0000).", param, "invalid_value").ToResult();
            }

            try
            {
                return await next(context);
            }
            catch (AccessConflictException ex)
            {
                return ApiError.InvalidRequest(ex.Message, code: "request_refused").ToResult();
            }
        });
        api.MapUsers().MapWorkspaces().MapKeys().MapAudit();
        return app;
    }

    /// <summary>
    /// The query parameter holding U+0000, if any: PostgreSQL cannot take it as a parameter, so a filter on it would fail
    /// in the database. (Bodies are checked by <see cref="TextWithoutNul"/>; Kestrel itself refuses it in a path.)
    /// </summary>
    private static string? NulIn(HttpRequest request)
    {
        foreach (var (name, values) in request.Query)
        {
            if (values.Any(value => value?.Contains('\0', StringComparison.Ordinal) == true))
            {
                return name;
            }
        }

        return null;
    }
}
