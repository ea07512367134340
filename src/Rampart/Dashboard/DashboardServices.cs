using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Rampart.Dashboard;

internal static class DashboardServices
{
    public const string Scheme = "Dashboard";
    public const string Policy = "Dashboard";
    public const string BasePath = "/dashboard";
    public const string CookieName = "rampart_session";
    public const string AntiforgeryCookieName = "rampart_csrf";

    /// <summary>
    /// The dashboard's own cookie scheme (the API keeps bearer keys as its default), antiforgery, sign-in lock-out.
    /// </summary>
    public static IServiceCollection AddRampartDashboard(this IServiceCollection services)
    {
        // The API's keys are not a scheme (see ApiKeyAuthentication), so this cookie is the only one: ASP.NET Core would
        // make it the default and read it on every request, the API's included. The policy below names it instead.
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);
        services.AddAuthentication()
            .AddCookie(Scheme, o =>
            {
                o.Cookie.Name = CookieName;
                o.Cookie.Path = BasePath;
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.LoginPath = BasePath + "/sign-in";
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
                o.Events.OnValidatePrincipal = DashboardSession.ValidateAsync;
            });
        services.AddAuthorizationBuilder()
            .AddPolicy(Policy, p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser());
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = AntiforgeryCookieName;
            o.Cookie.Path = BasePath;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__csrf";
            o.HeaderName = null;
        });
        services.AddSingleton<SignInThrottle>();
        services.AddSingleton<DashboardQueries>();
        return services;
    }

    /// <summary>
    /// ASP.NET Core's authentication and authorization middlewares, for every request but the API's. The API checks its
    /// keys itself (<see cref="Auth.ApiKeyAuthentication"/>) and has no use for a cookie, a claims principal or a policy;
    /// the two took about 6 % of a small chat's CPU (docs/benchmarks.md, "The API's pipeline without the dashboard's").
    /// An API endpoint given authorization metadata by mistake fails closed: routing refuses to run it without the
    /// authorization middleware.
    /// </summary>
    public static IApplicationBuilder UseDashboardAuthentication(this IApplicationBuilder app)
    {
        // WebApplication puts both middlewares in front of every request unless the application added them itself, which
        // it reads from these two keys of its own (not public API); a branch's builder does not pass them back. Were they
        // renamed, the middlewares would run for the API again: no change in behaviour, and AuthPipelineTests would fail.
        app.Properties[AuthenticationMiddlewareSetKey] = true;
        app.Properties[AuthorizationMiddlewareSetKey] = true;
        return app.UseWhen(static http => !Gateway.ApiPaths.IsApi(http.Request.Path), dashboard =>
        {
            dashboard.UseAuthentication();
            dashboard.UseAuthorization();
        });
    }

    private const string AuthenticationMiddlewareSetKey = "__AuthenticationMiddlewareSet";
    private const string AuthorizationMiddlewareSetKey = "__AuthorizationMiddlewareSet";

    /// <summary>The pages under <c>/dashboard</c>: every POST checks the antiforgery token; every page but sign-in needs a session.</summary>
    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(BasePath + "/assets/{name}", DashboardAssets.Serve).AllowAnonymous();

        var pages = endpoints.MapGroup(BasePath).AddEndpointFilter(ProtectAsync);
        pages.MapGet("/sign-in", SignInPage.ShowAsync).AllowAnonymous();
        pages.MapPost("/sign-in", SignInPage.SubmitAsync).AllowAnonymous();

        var signedIn = pages.MapGroup("").RequireAuthorization(Policy);
        signedIn.MapGet("", () => Results.Redirect(BasePath + "/profile"));
        signedIn.MapPost("/sign-out", (Delegate)SignInPage.SignOutAsync);
        signedIn.MapGet("/profile", ProfilePage.ShowAsync);
        signedIn.MapPost("/profile/keys", ProfilePage.CreateKeyAsync);
        signedIn.MapPost("/profile/keys/{keyId}/delete", ProfilePage.DeleteKeyAsync);
        signedIn.MapPost("/profile/password", ProfilePage.ChangePasswordAsync);
        signedIn.MapGet("/workspaces", WorkspacesPage.ListAsync);
        signedIn.MapPost("/workspaces", WorkspacesPage.CreateAsync);
        signedIn.MapGet("/workspaces/{name}", WorkspacesPage.ShowAsync);
        signedIn.MapPost("/workspaces/{name}/settings", WorkspacesPage.SaveSettingsAsync);
        signedIn.MapPost("/workspaces/{name}/policy", WorkspacesPage.SavePolicyAsync);
        signedIn.MapPost("/workspaces/{name}/members", WorkspacesPage.SetMemberAsync);
        signedIn.MapPost("/workspaces/{name}/members/{userId}/remove", WorkspacesPage.RemoveMemberAsync);
        signedIn.MapGet("/audit", AuditPage.ShowAsync);
        signedIn.MapGet("/usage", UsagePage.ShowAsync);
        signedIn.MapGet("/providers", ProvidersPage.ShowAsync);
        signedIn.MapPost("/providers", ProvidersPage.SaveAsync);
        signedIn.MapPost("/providers/remove", ProvidersPage.RemoveAsync);
        return endpoints;
    }

    /// <summary>Security headers on every page, and the antiforgery check on every POST, before any handler runs.</summary>
    private static async ValueTask<object?> ProtectAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy =
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        headers.XFrameOptions = "DENY";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-store";

        if (HttpMethods.IsPost(http.Request.Method))
        {
            try
            {
                await http.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(http);
            }
            catch (AntiforgeryValidationException)
            {
                return Layout.Bare(
                    "Form expired", StatusCodes.Status400BadRequest,
                    Html.Raw("""<p>This form could not be accepted: its security token is missing or out of date. Go back, reload the page and try again.</p><p><a href="/dashboard">Back to the dashboard</a></p>"""));
            }
        }

        return await next(context);
    }
}
