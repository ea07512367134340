using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Rampart.Auth;
using Rampart.Workspaces;

namespace Rampart.Dashboard;

/// <summary>The signed-in person behind a dashboard request, and what the cookie must prove on each request.</summary>
internal static class DashboardSession
{
    private const string StampClaim = "rampart:stamp";

    /// <summary>Issues the session cookie. The stamp ties it to the password it was opened with.</summary>
    public static Task SignInAsync(HttpContext http, User user, string passwordHash)
    {
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, user.Id), new Claim(ClaimTypes.Name, user.Email), new Claim(StampClaim, Stamp(passwordHash))],
            DashboardServices.Scheme);
        return http.SignInAsync(DashboardServices.Scheme, new ClaimsPrincipal(identity));
    }

    /// <summary>
    /// Runs on every request with a session cookie: the user must still exist, be enabled, and have the password the
    /// session was opened with, so disabling an account or changing a password ends its other sessions at once.
    /// </summary>
    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var userId = context.Principal?.FindFirstValue(ClaimTypes.NameIdentifier);
        var stamp = context.Principal?.FindFirstValue(StampClaim);
        var services = context.HttpContext.RequestServices;
        var user = userId is null ? null : services.GetRequiredService<AccessCache>().Current.FindUser(userId);
        var hash = user is null || user.DisabledAt is not null
            ? null
            : await services.GetRequiredService<DashboardQueries>().PasswordHashAsync(user.Id, context.HttpContext.RequestAborted);
        if (hash is null || stamp is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(stamp), Encoding.ASCII.GetBytes(Stamp(hash))))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(DashboardServices.Scheme);
        }
    }

    private static string Stamp(string passwordHash) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(passwordHash)))[..24];
}

/// <summary>One page request by a signed-in user: who they are, what they may see, and the form token.</summary>
internal sealed class DashboardRequest
{
    private Html? _csrf;

    private DashboardRequest(HttpContext http, User user, AccessSnapshot access)
    {
        Http = http;
        User = user;
        Access = access;
    }

    public HttpContext Http { get; }

    public User User { get; }

    public AccessSnapshot Access { get; }

    public CancellationToken Aborted => Http.RequestAborted;

    public T Service<T>()
        where T : notnull => Http.RequestServices.GetRequiredService<T>();

    /// <summary>The hidden antiforgery field every form carries.</summary>
    public Html Csrf => _csrf ??= Field(Http);

    public IReadOnlyList<Workspace> Workspaces => [.. Access.WorkspacesOf(User)];

    public bool IsAdminOf(Workspace workspace) => Access.RoleIn(User, workspace) == WorkspaceRoles.Admin;

    /// <summary>The workspace by name when the user may see it; null otherwise (never saying which).</summary>
    public Workspace? Visible(string name) => Access.FindWorkspace(name) is { } w && Access.RoleIn(User, w) is not null ? w : null;

    public Scope Scope => new(User.IsOrgAdmin, User.Id, [.. Workspaces.Where(IsAdminOf).Select(w => w.Id)]);

    public static DashboardRequest For(HttpContext http)
    {
        var userId = http.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? throw new InvalidOperationException("No dashboard session on this request.");
        var access = http.RequestServices.GetRequiredService<AccessCache>().Current;
        var user = access.FindUser(userId) ?? throw new InvalidOperationException("The session's user is not in the access snapshot.");
        return new DashboardRequest(http, user, access);
    }

    public static Html Field(HttpContext http)
    {
        var tokens = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        return Html.Of($"""<input type="hidden" name="{tokens.FormFieldName}" value="{tokens.RequestToken}">""");
    }

    public IResult Page(string title, string section, Html body, int status = StatusCodes.Status200OK) =>
        Layout.Page(this, title, section, body, status);

    public IResult NotFound(string what) =>
        Page("Not found", "", Html.Of($"""<div class="alert error">{what}</div>"""), StatusCodes.Status404NotFound);

    public IResult Forbidden(string why) =>
        Page("Not allowed", "", Html.Of($"""<div class="alert error">{why}</div>"""), StatusCodes.Status403Forbidden);

    public async Task<IFormCollection> FormAsync() => RefuseNul(await Http.Request.ReadFormAsync(Aborted));

    /// <summary>A form field holding U+0000 is a 400: PostgreSQL cannot store it, and no name or setting needs it.</summary>
    public static IFormCollection RefuseNul(IFormCollection form) =>
        form.Any(field => field.Value.Any(value => value?.Contains('\0', StringComparison.Ordinal) == true))
            ? throw new BadHttpRequestException("A form field contains the NUL character (U+0000).", StatusCodes.Status400BadRequest)
            : form;
}
