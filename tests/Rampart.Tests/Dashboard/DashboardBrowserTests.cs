using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OpenQA.Selenium;
using Rampart.Auth;
using Rampart.Tests.Infrastructure;
using Rampart.Workspaces;

namespace Rampart.Tests.Dashboard;

/// <summary>The dashboard in a real headless Chromium: the seed's key flow end to end, workspaces, the audit page, screenshots.</summary>
[Collection(DashboardTests.Name)]
public sealed class DashboardBrowserTests(DashboardFixture gateway, Browser browser) : IClassFixture<Browser>
{
    [Fact]
    public async Task SignIn_CreateKey_CallTheApi_DeleteKey_NextCallIs401_RequestIsInTheAuditPage()
    {
        browser.BaseUrl = gateway.BaseUrl;
        var workspace = await gateway.CreateWorkspaceAsync();
        var user = await gateway.CreateDashboardUserAsync(OrgRoles.Member, WorkspaceRoles.Member, workspace.Name);

        browser.SignIn(user.Email, DashboardFixture.Password);
        Assert.Equal("/dashboard/profile", browser.CurrentPath);
        Assert.Contains("No API keys yet", browser.Find("main").Text, StringComparison.Ordinal);

        browser.Type("#key-name", "laptop");
        browser.ClickAndWait("#create-key");
        var key = browser.Find("#new-key").GetAttribute("value")!;
        Assert.StartsWith(ApiKeys.Prefix, key, StringComparison.Ordinal);

        using var api = gateway.Http(key);
        using var ok = await ChatApi.PostAsync(api, ChatApi.Request(workspace.Name, "hello from the browser test"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var requestId = ok.Headers.GetValues("x-request-id").Single();

        // Shown once: a fresh visit lists the key with its use, but never the key itself.
        browser.Go("/dashboard/profile");
        Assert.DoesNotContain(key, browser.Driver.PageSource, StringComparison.Ordinal);
        var row = browser.Find("#keys tbody tr");
        Assert.Equal("laptop", row.FindElement(By.CssSelector(".key-name")).Text);
        Assert.Equal("1", row.FindElement(By.CssSelector("td.num")).Text);
        Assert.NotEqual("—", row.FindElements(By.TagName("td"))[3].Text);

        row.FindElement(By.CssSelector("button.danger")).Click();
        new OpenQA.Selenium.Support.UI.WebDriverWait(browser.Driver, TimeSpan.FromSeconds(15))
            .Until(d => d.PageSource.Contains("The key was deleted", StringComparison.Ordinal));
        Assert.Empty(browser.FindAll("#keys tbody tr"));
        using var refused = await ChatApi.PostAsync(api, ChatApi.Request(workspace.Name, "after delete"));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        var audited = await AuditRowAsync(browser, $"/dashboard/audit?workspace={workspace.Name}", $"tr[data-request-id='{requestId}']");
        Assert.Contains("ok", audited.FindElement(By.CssSelector(".badge")).Text, StringComparison.Ordinal);
        Assert.Contains(user.Email, audited.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OrgAdmin_CreatesWorkspace_ItIsInModels_SettingsAndPolicyEditable_PersonaXssInert_Screenshots()
    {
        browser.BaseUrl = gateway.BaseUrl;
        var admin = await gateway.CreateDashboardUserAsync(OrgRoles.Admin);
        var (_, adminKey) = await gateway.Store.CreateKeyAsync(admin.Id, "admin key", null, default);
        var name = "team-" + Guid.NewGuid().ToString("N")[..8];

        browser.SignIn(admin.Email, DashboardFixture.Password);
        browser.Go("/dashboard/workspaces");
        browser.Type("#workspace-name", name);
        browser.Type("#workspace-model", FakeOpenAIServer.Models.Echo);
        browser.ClickAndWait("#create-workspace");
        Assert.Equal($"/dashboard/workspaces/{name}", browser.CurrentPath);

        using var api = gateway.Http(adminKey);
        var models = JsonNode.Parse(await api.GetStringAsync("api/v1/models"))!["data"]!.AsArray();
        Assert.Contains(models, m => m!["id"]!.GetValue<string>() == name);

        // A persona carrying markup is saved as text and rendered inert (the CSP would block it too).
        const string payload = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>";
        browser.Type("#persona", payload);
        browser.ClickAndWait("#save-settings");
        Assert.Contains("Settings saved", browser.Find("main").Text, StringComparison.Ordinal);
        Assert.Equal(payload, browser.Find("#persona").GetAttribute("value"));
        Assert.DoesNotContain("pwned", browser.Driver.Title, StringComparison.Ordinal);
        Assert.Empty(browser.FindAll("main img"));
        Assert.Equal(payload, gateway.Services.GetRequiredService<AccessCache>().Current.FindWorkspace(name)!.Policy.Persona);

        // An invalid whole-policy document is refused with a clear reason and the old policy stays.
        var policy = browser.Find("#policy-json");
        policy.Clear();
        policy.SendKeys("""{"provider": "openai", "model": "x", "pii": "sometimes"}""");
        browser.ClickAndWait("#save-policy");
        Assert.Contains("pii must be one of disabled, obfuscate, block", browser.Find("#policy .alert").Text, StringComparison.Ordinal);
        Assert.Equal(FakeOpenAIServer.Models.Echo, gateway.Services.GetRequiredService<AccessCache>().Current.FindWorkspace(name)!.Policy.Model);

        // Some traffic for the audit and usage pages, then the screenshots the README shows.
        for (var i = 0; i < 3; i++)
        {
            using var response = await ChatApi.PostAsync(api, ChatApi.Request(name, "screenshot traffic " + i));
        }

        using (await ChatApi.PostAsync(api, ChatApi.Request(name, "my key is ghp_" + new string('a', 36)))) { }
        await AuditRowAsync(browser, "/dashboard/audit", "#audit .badge");

        browser.Go("/dashboard/workspaces");
        browser.FullScreenshot("workspaces");
        browser.Go($"/dashboard/workspaces/{name}");
        browser.FullScreenshot("workspace");
        browser.Go("/dashboard/audit");
        Assert.Contains("Blocked by Secret Detection", browser.Find("#audit").Text, StringComparison.Ordinal);
        browser.FullScreenshot("audit");
        browser.Go("/dashboard/usage");
        Assert.NotEmpty(browser.FindAll("#chart-requests rect.bar"));
        browser.FullScreenshot("usage");
        browser.Go("/dashboard/providers");
        browser.FullScreenshot("providers");
        browser.Go("/dashboard/profile");
        browser.Type("#key-name", "notebook");
        browser.ClickAndWait("#create-key");
        browser.FullScreenshot("profile");
        browser.FullScreenshot("profile-narrow", width: 390);
        browser.ClickAndWait("#sign-out");
        Assert.Equal("/dashboard/sign-in", browser.CurrentPath);
        browser.Screenshot("sign-in");
    }

    /// <summary>
    /// Opens an audit page until <paramref name="css"/> is on it: a request's record is queued as its response ends, so
    /// a flush right after the client read the answer can, rarely, come a moment too early.
    /// </summary>
    private async Task<IWebElement> AuditRowAsync(Browser browser, string url, string css)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            await gateway.FlushAuditAsync();
            browser.Go(url);
            var row = browser.FindAll(css).FirstOrDefault();
            if (row is not null || DateTime.UtcNow > deadline)
            {
                return row ?? browser.Find(css);
            }

            await Task.Delay(100);
        }
    }
}
