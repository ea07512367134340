using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Rampart.Auth;
using Rampart.Workspaces;

namespace Rampart.Tests.Infrastructure;

/// <summary>The gateway with audit flushing on demand (see <see cref="AuditGatewayFixture"/>) and dashboard users with passwords.</summary>
public sealed class DashboardFixture : AuditGatewayFixture
{
    public const string Password = "correct horse battery";

    /// <summary>A user who can sign in to the dashboard with <see cref="Password"/>, member of the given workspaces.</summary>
    internal async Task<User> CreateDashboardUserAsync(string orgRole = OrgRoles.Member, string workspaceRole = WorkspaceRoles.Member, params string[] workspaces)
    {
        var user = await Store.CreateUserAsync($"person-{Guid.NewGuid():N}@example.test", "Dana Tester", PasswordHasher.Hash(Password, 1000), orgRole, default);
        foreach (var name in workspaces)
        {
            var workspace = Services.GetRequiredService<AccessCache>().Current.FindWorkspace(name) ?? throw new InvalidOperationException($"no workspace {name}");
            await Store.AddMemberAsync(workspace.Id, user.Id, workspaceRole, default);
        }

        return user;
    }

    /// <summary>An HTTP client that keeps cookies and follows no redirects, like a browser's form posts seen one at a time.</summary>
    internal DashboardClient Client() => new(BaseUrl);
}

[CollectionDefinition(Name)]
public sealed class DashboardTests : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboard";
}

/// <summary>Drives the dashboard's forms over plain HTTP: reads the antiforgery field from a page and posts it back.</summary>
internal sealed partial class DashboardClient : IDisposable
{
    private readonly HttpClient _http;

    public DashboardClient(string baseUrl)
    {
        Cookies = new CookieContainer();
        _http = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false })
        {
            BaseAddress = new Uri(baseUrl + "/"),
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public CookieContainer Cookies { get; }

    public async Task<(HttpStatusCode Status, string Html)> GetAsync(string path)
    {
        using var response = await _http.GetAsync(path.TrimStart('/'));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The antiforgery token in the first form of <paramref name="pagePath"/>.</summary>
    public async Task<string> TokenAsync(string pagePath)
    {
        var (_, html) = await GetAsync(pagePath);
        return TokenPattern().Match(html) is { Success: true } match ? match.Groups[1].Value : throw new InvalidOperationException($"No antiforgery field on {pagePath}");
    }

    public async Task<HttpResponseMessage> PostAsync(string path, IEnumerable<KeyValuePair<string, string>> fields, string? token)
    {
        var all = token is null ? fields : fields.Append(new("__csrf", token));
        return await _http.PostAsync(path.TrimStart('/'), new FormUrlEncodedContent(all));
    }

    /// <summary>Posts a form the way the page would: with the token from <paramref name="pagePath"/>.</summary>
    public async Task<HttpResponseMessage> SubmitAsync(string pagePath, string action, params (string Name, string Value)[] fields) =>
        await PostAsync(action, fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)), await TokenAsync(pagePath));

    public Task<HttpResponseMessage> SignInAsync(string email, string password) =>
        SubmitAsync("/dashboard/sign-in", "/dashboard/sign-in", ("email", email), ("password", password));

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
