using System.Globalization;
using Microsoft.AspNetCore.Authentication;
using Rampart.Auth;

namespace Rampart.Dashboard;

internal static class SignInPage
{
    // Verified against when the email is unknown, so a wrong email takes as long as a wrong password.
    private static string? s_decoyHash;

    public static async Task<IResult> ShowAsync(HttpContext http, string? returnUrl)
    {
        if ((await http.AuthenticateAsync(DashboardServices.Scheme)).Succeeded)
        {
            return Results.Redirect(SafeReturn(returnUrl));
        }

        return Form(http, "", returnUrl, null, StatusCodes.Status200OK);
    }

    public static async Task<IResult> SubmitAsync(
        HttpContext http, SignInThrottle throttle, DashboardQueries queries, AccessCache access, TimeProvider time, IConfiguration configuration)
    {
        var decoy = s_decoyHash ??= PasswordHasher.Hash(Guid.NewGuid().ToString(), configuration.GetValue("Rampart:PasswordIterations", PasswordHasher.DefaultIterations));
        var form = DashboardRequest.RefuseNul(await http.Request.ReadFormAsync(http.RequestAborted));
        var email = form["email"].ToString().Trim();
        var password = form["password"].ToString();
        var returnUrl = form["returnUrl"].ToString();

        if (await throttle.LockedUntilAsync(email, http.RequestAborted) is { } lockedUntil)
        {
            return Form(http, email, returnUrl, Locked(lockedUntil, time), StatusCodes.Status429TooManyRequests);
        }

        var found = email.Length == 0 ? null : await queries.FindCredentialsAsync(email, http.RequestAborted);
        var hash = found is { PasswordHash: { } stored, DisabledAt: null } ? stored : null;
        var verified = PasswordHasher.Verify(password, hash ?? decoy) && hash is not null;
        var user = verified ? access.Current.FindUser(found!.Value.UserId) : null;
        if (user is null)
        {
            if (email.Length > 0 && await throttle.FailedAsync(email, CancellationToken.None) is { } until)
            {
                return Form(http, email, returnUrl, Locked(until, time), StatusCodes.Status429TooManyRequests);
            }

            return Form(http, email, returnUrl, "Wrong email or password.", StatusCodes.Status401Unauthorized);
        }

        await throttle.SucceededAsync(email, http.RequestAborted);
        await DashboardSession.SignInAsync(http, user, hash!);
        return Results.Redirect(SafeReturn(returnUrl));
    }

    public static async Task<IResult> SignOutAsync(HttpContext http)
    {
        await http.SignOutAsync(DashboardServices.Scheme);
        return Results.Redirect(DashboardServices.BasePath + "/sign-in");
    }

    private static string Locked(DateTimeOffset until, TimeProvider time)
    {
        var minutes = Math.Max(1, (int)Math.Ceiling((until - time.GetUtcNow()).TotalMinutes));
        return $"Too many failed sign-ins: this account is locked for {minutes.ToString(CultureInfo.InvariantCulture)} more minute{(minutes == 1 ? "" : "s")}.";
    }

    /// <summary>Only a path inside the dashboard: never another site (an open redirect).</summary>
    private static string SafeReturn(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url.StartsWith(DashboardServices.BasePath + "/", StringComparison.Ordinal) && !url.Contains("//", StringComparison.Ordinal)
            && !url.Contains('\\', StringComparison.Ordinal)
            ? url
            : DashboardServices.BasePath + "/profile";

    private static IResult Form(HttpContext http, string email, string? returnUrl, string? error, int status) =>
        Layout.Bare("Sign in", status, Html.Of($"""
            {Layout.Alert("error", error)}
            <section class="card">
              <form class="stack" method="post" action="/dashboard/sign-in" id="sign-in-form">
                {DashboardRequest.Field(http)}
                <input type="hidden" name="returnUrl" value="{returnUrl ?? ""}">
                <label>Email <input type="email" name="email" id="email" value="{email}" autocomplete="username" required autofocus></label>
                <label>Password <input type="password" name="password" id="password" autocomplete="current-password" required></label>
                <button type="submit" id="sign-in">Sign in</button>
              </form>
            </section>
            <p class="hint">The first administrator's email and password are printed once when the gateway first starts.</p>
            """));
}
