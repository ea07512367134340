using Rampart.Data;
using Rampart.Providers;
using Rampart.Search;

namespace Rampart.Dashboard;

/// <summary>
/// A workspace's own provider credentials: the key is typed once, encrypted with <see cref="CredentialProtector"/>,
/// and from then on only its last four characters are ever shown.
/// </summary>
internal static class ProvidersPage
{
    private static readonly Dictionary<string, string> Notices = new(StringComparer.Ordinal)
    {
        ["saved"] = "Credential saved and encrypted. It is used from the next request; it will not be shown again.",
        ["removed"] = "Credential removed; the workspace uses the gateway's own configuration again.",
    };

    /// <summary>What a credential can be for: the real providers, and the search engines that take a key.</summary>
    private static readonly string[] CredentialNames =
        [.. WorkspacesPage.ProviderNames.Where(p => p != ProviderCatalog.DemoProviderName), .. SearchBackendNames.Keyed.Select(SearchBackendNames.CredentialName)];

    public static IResult ShowAsync(HttpContext http, string? done) =>
        Render(DashboardRequest.For(http), done is null ? null : Notices.GetValueOrDefault(done), null, StatusCodes.Status200OK);

    public static async Task<IResult> SaveAsync(HttpContext http, AccessStore store, CredentialProtector protector)
    {
        var request = DashboardRequest.For(http);
        var form = await request.FormAsync();
        var workspace = request.Visible(form["workspace"].ToString());
        if (workspace is null || !request.IsAdminOf(workspace))
        {
            return Render(request, null, "Choose a workspace you administer.", StatusCodes.Status403Forbidden);
        }

        var provider = form["provider"].ToString();
        if (!CredentialNames.Contains(provider))
        {
            return Render(request, null, "Choose a provider from the list.", StatusCodes.Status400BadRequest);
        }

        var apiKey = form["api_key"].ToString().Trim();
        var baseUrl = form["base_url"].ToString().Trim();
        try
        {
            await store.SetProviderCredentialAsync(
                workspace.Id, provider, baseUrl.Length == 0 ? null : baseUrl,
                apiKey.Length == 0 ? null : protector.Protect(apiKey), apiKey.Length == 0 ? null : CredentialProtector.Hint(apiKey), request.Aborted);
        }
        catch (AccessConflictException ex)
        {
            return Render(request, null, ex.Message, StatusCodes.Status400BadRequest);
        }

        return Results.Redirect("/dashboard/providers?done=saved");
    }

    public static async Task<IResult> RemoveAsync(HttpContext http, AccessStore store)
    {
        var request = DashboardRequest.For(http);
        var form = await request.FormAsync();
        var workspace = request.Visible(form["workspace"].ToString());
        if (workspace is null || !request.IsAdminOf(workspace))
        {
            return Render(request, null, "Choose a workspace you administer.", StatusCodes.Status403Forbidden);
        }

        try
        {
            await store.RemoveProviderCredentialAsync(workspace.Id, form["provider"].ToString(), request.Aborted);
        }
        catch (AccessConflictException ex)
        {
            return Render(request, null, ex.Message, StatusCodes.Status400BadRequest);
        }

        return Results.Redirect("/dashboard/providers?done=removed");
    }

    private static IResult Render(DashboardRequest request, string? notice, string? error, int status)
    {
        var administered = request.Workspaces.Where(request.IsAdminOf).ToList();
        var credentials = administered.SelectMany(w => request.Access.CredentialsOf(w.Id).Select(c => (Workspace: w, Credential: c)))
            .OrderBy(x => x.Workspace.Name, StringComparer.Ordinal).ThenBy(x => x.Credential.Provider, StringComparer.Ordinal).ToList();
        var rows = Html.Join(credentials.Select(x => Html.Of($"""
            <tr>
              <td>{x.Workspace.Name}</td>
              <td>{x.Credential.Provider}</td>
              <td><code>{x.Credential.KeyHint ?? "no key"}</code></td>
              <td>{x.Credential.BaseUrl ?? "default"}</td>
              <td>{Layout.Time(x.Credential.UpdatedAt)}</td>
              <td><form method="post" action="/dashboard/providers/remove">{request.Csrf}<input type="hidden" name="workspace" value="{x.Workspace.Name}"><input type="hidden" name="provider" value="{x.Credential.Provider}"><button type="submit" class="danger">Remove</button></form></td>
            </tr>
            """)));
        var table = credentials.Count == 0
            ? Layout.Empty("No workspace has its own provider credentials; they all use the gateway's (from environment variables such as OPENAI_API_KEY).")
            : Html.Of($"""<div class="table-wrap"><table id="credentials"><thead><tr><th>Workspace</th><th>Provider</th><th>Key</th><th>Base URL</th><th>Updated (UTC)</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>""");
        var form = administered.Count == 0
            ? Layout.Empty("You administer no workspace, so there is nothing to configure here.")
            : Html.Of($"""
                <form class="stack" method="post" action="/dashboard/providers" id="credential-form" autocomplete="off">
                  {request.Csrf}
                  <label>Workspace <select name="workspace">{Layout.Options(administered.Select(w => (w.Name, w.Name)), null)}</select></label>
                  <label>Provider <select name="provider">{Layout.Options(CredentialNames.Select(p => (p, p)), null)}</select></label>
                  <label>API key <span class="hint">stored encrypted; shown again only as its last four characters</span><input type="password" name="api_key" autocomplete="new-password"></label>
                  <label>Base URL <span class="hint">optional: an OpenAI-compatible server, an Azure resource, a proxy (for search:… keys, the address goes in the workspace's search settings)</span><input type="url" name="base_url" placeholder="https://…"></label>
                  <button type="submit" id="save-credential">Save credential</button>
                </form>
                """);
        var gateway = request.Service<ProviderCatalog>().All
            .Select(p => Html.Of($"""<span class="badge {(p.IsConfigured ? "ok" : "grey")}">{p.Name}: {(p.IsConfigured ? "configured" : "not configured")}</span>"""));
        return request.Page("Providers", "providers", Html.Of($"""
            {Layout.Alert("success", notice)}
            {Layout.Alert("error", error)}
            <div class="grid">
              <section class="card"><h2>Add or replace a credential</h2>{form}</section>
              <section class="card"><h2>Gateway-wide providers</h2><p class="hint">Set with environment variables when the gateway starts.</p><p>{Html.Join(gateway)}</p></section>
            </div>
            <section class="card"><h2>Workspace credentials</h2>{table}</section>
            """), status);
    }
}
