using System.Net;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Rampart.Auth;
using Rampart.Dashboard;
using Rampart.Providers;
using Rampart.Tests.Infrastructure;
using Rampart.Workspaces;

namespace Rampart.Tests.Dashboard;

/// <summary>The dashboard's defences over plain HTTP: CSRF, XSS, cookies, lock-out, roles, secrets never shown twice.</summary>
[Collection(DashboardTests.Name)]
public sealed class DashboardSecurityTests(DashboardFixture gateway)
{
    private const string Xss = "<script>alert(1)</script><img src=x onerror=alert(1)>";

    private async Task<(DashboardClient Client, User User)> SignedInAsync(string orgRole = OrgRoles.Member, string workspaceRole = WorkspaceRoles.Member, params string[] workspaces)
    {
        var user = await gateway.CreateDashboardUserAsync(orgRole, workspaceRole, workspaces);
        var client = gateway.Client();
        using var response = await client.SignInAsync(user.Email, DashboardFixture.Password);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return (client, user);
    }

    [Fact]
    public async Task PostWithoutAntiforgeryToken_IsRejected_AndChangesNothing()
    {
        var (client, user) = await SignedInAsync();
        using (client)
        {
            using var missing = await client.PostAsync("/dashboard/profile/keys", [new("name", "csrf")], token: null);
            using var forged = await client.PostAsync("/dashboard/profile/keys", [new("name", "csrf")], token: "CfDJ8forged");

            Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
            Assert.Empty(await gateway.Store.ListKeysAsync(user.Id, default));
        }
    }

    [Fact]
    public async Task SignInWithoutAntiforgeryToken_IsRejected()
    {
        var user = await gateway.CreateDashboardUserAsync();
        using var client = gateway.Client();
        using var response = await client.PostAsync("/dashboard/sign-in", [new("email", user.Email), new("password", DashboardFixture.Password)], token: null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(client.Cookies.GetCookies(new Uri(gateway.BaseUrl + "/dashboard/"))[DashboardServices.CookieName]);
    }

    [Fact]
    public async Task XssInKeyName_IsEncoded()
    {
        var (client, _) = await SignedInAsync();
        using (client)
        {
            using var created = await client.SubmitAsync("/dashboard/profile", "/dashboard/profile/keys", ("name", Xss));
            var (_, html) = await client.GetAsync("/dashboard/profile");

            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
            Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
            Assert.DoesNotContain("<img src=x", html, StringComparison.Ordinal);
            Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task KeyNameHoldingNul_Is400_AndNoKeyIsCreated()
    {
        var (client, user) = await SignedInAsync();
        using (client)
        {
            using var refused = await client.SubmitAsync("/dashboard/profile", "/dashboard/profile/keys", ("name", "nul\0key"));

            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Empty(await gateway.Store.ListKeysAsync(user.Id, default));
        }
    }

    [Fact]
    public async Task XssInPersona_IsEncoded()
    {
        var workspace = await gateway.CreateWorkspaceAsync(persona: Xss);
        var (client, _) = await SignedInAsync(OrgRoles.Member, WorkspaceRoles.Member, workspace.Name);
        using (client)
        {
            var (status, html) = await client.GetAsync($"/dashboard/workspaces/{workspace.Name}");

            Assert.Equal(HttpStatusCode.OK, status);
            Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
            Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task SessionCookie_IsHttpOnly_SameSiteStrict_SecureOverHttps_AndPagesSendACsp()
    {
        var user = await gateway.CreateDashboardUserAsync();
        using var client = gateway.Client();
        using var response = await client.SignInAsync(user.Email, DashboardFixture.Password);

        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith(DashboardServices.CookieName + "=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/dashboard", cookie, StringComparison.OrdinalIgnoreCase);
        // Plain HTTP here (no TLS in tests); over HTTPS the same policy marks it Secure.
        var options = gateway.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(DashboardServices.Scheme);
        Assert.Equal(CookieSecurePolicy.SameAsRequest, options.Cookie.SecurePolicy);

        using var page = await new HttpClient().GetAsync(gateway.BaseUrl + "/dashboard/sign-in");
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
    }

    [Fact]
    public async Task FiveWrongPasswords_LockTheAccount_EvenForTheRightPassword_OtherAccountsUnaffected()
    {
        var user = await gateway.CreateDashboardUserAsync();
        var other = await gateway.CreateDashboardUserAsync();
        using var client = gateway.Client();
        for (var i = 0; i < SignInThrottle.MaxFailures - 1; i++)
        {
            using var wrong = await client.SignInAsync(user.Email, "wrong password " + i);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using var fifth = await client.SignInAsync(user.Email, "wrong again");
        using var right = await client.SignInAsync(user.Email, DashboardFixture.Password);
        using var otherRight = await client.SignInAsync(other.Email, DashboardFixture.Password);

        Assert.Equal(HttpStatusCode.TooManyRequests, fifth.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, right.StatusCode);
        Assert.Contains("locked for 15 more minutes", await right.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, otherRight.StatusCode);
    }

    [Fact]
    public async Task Lockout_EndsAfterFifteenMinutes_ThenTheCountStartsAgain()
    {
        var clock = new FakeClock(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var throttle = new SignInThrottle(gateway.Store.Db, clock);
        var email = $"Lockout-{Guid.NewGuid():N}@Example.test";
        var locks = new List<DateTimeOffset?>();
        for (var i = 0; i < SignInThrottle.MaxFailures; i++)
        {
            locks.Add(await throttle.FailedAsync(email, default));
        }

        Assert.Equal([.. Enumerable.Repeat<DateTimeOffset?>(null, SignInThrottle.MaxFailures - 1), clock.Now.AddMinutes(15)], locks);
        Assert.NotNull(await throttle.LockedUntilAsync(email.ToLowerInvariant(), default));
        clock.Advance(TimeSpan.FromMinutes(14));
        Assert.NotNull(await throttle.LockedUntilAsync(email, default));
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(await throttle.LockedUntilAsync(email, default));
        Assert.Null(await throttle.FailedAsync(email, default));
        Assert.Null(await throttle.LockedUntilAsync(email, default));
    }

    [Fact]
    public async Task Failures_AreRememberedForADay_ThenTheirRowsGo()
    {
        var clock = new FakeClock(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var throttle = new SignInThrottle(gateway.Store.Db, clock);
        var tried = $"stale-{Guid.NewGuid():N}@example.test";
        var kept = $"kept-{Guid.NewGuid():N}@example.test";
        for (var i = 0; i < SignInThrottle.MaxFailures - 1; i++)
        {
            await throttle.FailedAsync(tried, default);
            await throttle.FailedAsync(kept, default);
        }

        // Within the day, one more failure locks; a day after the last failure, the count has started again.
        clock.Advance(TimeSpan.FromHours(23));
        Assert.NotNull(await throttle.FailedAsync(kept, default));
        clock.Advance(TimeSpan.FromHours(2));
        Assert.Null(await throttle.FailedAsync(tried, default));
        Assert.Null(await throttle.LockedUntilAsync(tried, default));
        Assert.Equal(1, await FailuresAsync(tried));
        Assert.Equal(SignInThrottle.MaxFailures, await FailuresAsync(kept));

        // Any address's failure sweeps the old rows: over a day after their last failures, both rows are gone.
        clock.Advance(TimeSpan.FromHours(24) + TimeSpan.FromMinutes(1));
        await throttle.FailedAsync($"someone-{Guid.NewGuid():N}@example.test", default);
        Assert.Null(await FailuresAsync(kept));
        Assert.Null(await FailuresAsync(tried));
    }

    private async Task<long?> FailuresAsync(string email)
    {
        await using var connection = await gateway.Store.Db.OpenAsync(default);
        return await Dapper.SqlMapper.ExecuteScalarAsync<long?>(connection, "SELECT failures FROM sign_in_failures WHERE email = @Email", new { Email = email });
    }

    [Fact]
    public async Task PagesWithoutASession_RedirectToSignIn()
    {
        using var client = gateway.Client();
        foreach (var page in new[] { "/dashboard/profile", "/dashboard/workspaces", "/dashboard/audit", "/dashboard/usage", "/dashboard/providers" })
        {
            using var response = await new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }).GetAsync(gateway.BaseUrl + page);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.StartsWith("/dashboard/sign-in", response.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Member_CannotCreateOrEditWorkspaces_NorSeeOnesTheyAreNotIn()
    {
        var mine = await gateway.CreateWorkspaceAsync();
        var theirs = await gateway.CreateWorkspaceAsync();
        var (client, _) = await SignedInAsync(OrgRoles.Member, WorkspaceRoles.Member, mine.Name);
        using (client)
        {
            using var create = await client.SubmitAsync("/dashboard/workspaces", "/dashboard/workspaces", ("name", "sneaky"), ("provider", "openai"), ("model", "m"));
            using var edit = await client.SubmitAsync($"/dashboard/workspaces/{mine.Name}", $"/dashboard/workspaces/{mine.Name}/settings",
                ("provider", "openai"), ("model", "other"), ("pii", "disabled"), ("pii_restore", "never"), ("secrets", "block"));
            var (hidden, _) = await client.GetAsync($"/dashboard/workspaces/{theirs.Name}");

            Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, edit.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, hidden);
            Assert.Null(gateway.Services.GetRequiredService<AccessCache>().Current.FindWorkspace("sneaky"));
        }
    }

    [Fact]
    public async Task WorkspaceAdmin_AddsAndRemovesMembers_AndAMemberSeesOnlyTheirOwnAudit()
    {
        var workspace = await gateway.CreateWorkspaceAsync();
        var (admin, _) = await SignedInAsync(OrgRoles.Member, WorkspaceRoles.Admin, workspace.Name);
        var newcomer = await gateway.CreateDashboardUserAsync();
        using (admin)
        {
            var page = $"/dashboard/workspaces/{workspace.Name}";
            using var added = await admin.SubmitAsync(page, page + "/members", ("email", newcomer.Email), ("role", WorkspaceRoles.Member));
            Assert.Equal(HttpStatusCode.Redirect, added.StatusCode);
            Assert.Equal(WorkspaceRoles.Member, gateway.Services.GetRequiredService<AccessCache>().Current.RoleIn(newcomer, workspace));

            using var removed = await admin.SubmitAsync(page, $"{page}/members/{newcomer.Id}/remove");
            Assert.Equal(HttpStatusCode.Redirect, removed.StatusCode);
            Assert.Null(gateway.Services.GetRequiredService<AccessCache>().Current.RoleIn(newcomer, workspace));
        }
    }

    [Fact]
    public async Task ProviderKey_IsStoredEncrypted_AndNeverShownAgain()
    {
        var workspace = await gateway.CreateWorkspaceAsync();
        var (client, _) = await SignedInAsync(OrgRoles.Member, WorkspaceRoles.Admin, workspace.Name);
        var secret = "sk-test-dashboard-" + Guid.NewGuid().ToString("N");
        using (client)
        {
            using var saved = await client.SubmitAsync("/dashboard/providers", "/dashboard/providers", ("workspace", workspace.Name), ("provider", "openai"), ("api_key", secret), ("base_url", ""));
            var (_, html) = await client.GetAsync("/dashboard/providers?done=saved");

            Assert.Equal(HttpStatusCode.Redirect, saved.StatusCode);
            Assert.DoesNotContain(secret, html, StringComparison.Ordinal);
            Assert.Contains(secret[^4..], html, StringComparison.Ordinal);
            var stored = gateway.Services.GetRequiredService<AccessCache>().Current.CredentialFor(workspace.Id, "openai")!;
            Assert.DoesNotContain(secret, stored.ApiKeyProtected!, StringComparison.Ordinal);
            Assert.Equal(secret, gateway.Services.GetRequiredService<CredentialProtector>().Unprotect(stored.ApiKeyProtected!));
        }
    }

    [Fact]
    public async Task WorkspaceSearchSettings_AndSearchKey_AreSavedFromTheDashboard_BadOnesRefused()
    {
        var workspace = await gateway.CreateWorkspaceAsync();
        var (client, _) = await SignedInAsync(OrgRoles.Member, WorkspaceRoles.Admin, workspace.Name);
        var secret = "brave-test-dashboard-" + Guid.NewGuid().ToString("N");
        var page = $"/dashboard/workspaces/{workspace.Name}";
        (string, string)[] settings = [("provider", "openai"), ("model", "m"), ("pii", "disabled"), ("pii_restore", "never"), ("secrets", "block"), ("web_search", "on")];
        using (client)
        {
            using var saved = await client.SubmitAsync(page, page + "/settings",
                [.. settings, ("search_backend", "brave"), ("search_base_url", "https://brave.example.test"), ("search_first", "on")]);
            using var invalid = await client.SubmitAsync(page, page + "/settings", [.. settings, ("search_backend", ""), ("search_base_url", "https://x.example.test")]);
            using var key = await client.SubmitAsync("/dashboard/providers", "/dashboard/providers", ("workspace", workspace.Name), ("provider", "search:brave"), ("api_key", secret), ("base_url", ""));
            using var keyWithAddress = await client.SubmitAsync("/dashboard/providers", "/dashboard/providers",
                ("workspace", workspace.Name), ("provider", "search:brave"), ("api_key", secret), ("base_url", "https://brave.example.test"));

            Assert.Equal(HttpStatusCode.Redirect, saved.StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
            Assert.Contains("search.base_url needs search.backend", await invalid.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            var access = gateway.Services.GetRequiredService<AccessCache>().Current;
            var search = access.FindWorkspace(workspace.Name)!.Policy.Search!;
            Assert.Equal(("brave", "https://brave.example.test", true), (search.Backend, search.BaseUrl, search.SearchFirst));
            Assert.Equal(HttpStatusCode.Redirect, key.StatusCode);
            Assert.Equal(secret, gateway.Services.GetRequiredService<CredentialProtector>().Unprotect(access.CredentialFor(workspace.Id, "search:brave")!.ApiKeyProtected!));
            Assert.Equal(HttpStatusCode.BadRequest, keyWithAddress.StatusCode);
            Assert.Contains("A search credential holds only the API key", System.Net.WebUtility.HtmlDecode(await keyWithAddress.Content.ReadAsStringAsync()), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ChangingThePassword_EndsOtherSessions_KeepsThisOne()
    {
        var user = await gateway.CreateDashboardUserAsync();
        using var first = gateway.Client();
        using var second = gateway.Client();
        using (await first.SignInAsync(user.Email, DashboardFixture.Password)) { }
        using (await second.SignInAsync(user.Email, DashboardFixture.Password)) { }

        const string next = "a much longer new password";
        using var changed = await first.SubmitAsync("/dashboard/profile", "/dashboard/profile/password", ("current", DashboardFixture.Password), ("new", next), ("confirm", next));

        Assert.Equal(HttpStatusCode.Redirect, changed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/dashboard/profile")).Status);
        Assert.Equal(HttpStatusCode.Redirect, (await second.GetAsync("/dashboard/profile")).Status);
    }
}
