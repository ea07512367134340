using System.Text.Json;
using System.Text.Json.Serialization;
using Rampart.Data;
using Rampart.Guardrails;
using Rampart.OpenAI;
using Rampart.Providers;
using Rampart.Search;
using Rampart.Workspaces;

namespace Rampart.Dashboard;

/// <summary>Workspaces: the list, creating one (org admins), and a workspace's settings, whole policy and members (its admins).</summary>
internal static class WorkspacesPage
{
    public static readonly string[] ProviderNames = ["openai", "xai", "deepseek", "azure", "anthropic", "google", ProviderCatalog.DemoProviderName];

    private static readonly Dictionary<string, string> Notices = new(StringComparer.Ordinal)
    {
        ["created"] = "Workspace created. Callers use its name as the model.",
        ["settings"] = "Settings saved; they apply to the next request.",
        ["policy"] = "Policy saved; it applies to the next request.",
        ["member"] = "Member saved.",
        ["removed"] = "Member removed.",
    };

    public static IResult ListAsync(HttpContext http) => List(DashboardRequest.For(http), null, "", "", "", StatusCodes.Status200OK);

    public static async Task<IResult> CreateAsync(HttpContext http, AccessStore store)
    {
        var request = DashboardRequest.For(http);
        if (!request.User.IsOrgAdmin)
        {
            return request.Forbidden("Only organisation admins can create workspaces.");
        }

        var form = await request.FormAsync();
        var name = form["name"].ToString().Trim();
        var provider = form["provider"].ToString().Trim();
        var model = form["model"].ToString().Trim();
        try
        {
            var workspace = await store.CreateWorkspaceAsync(name, new WorkspacePolicy { Provider = provider, Model = model }, request.Aborted);
            await store.AddMemberAsync(workspace.Id, request.User.Id, WorkspaceRoles.Admin, request.Aborted);
            return Results.Redirect($"/dashboard/workspaces/{Uri.EscapeDataString(workspace.Name)}?done=created");
        }
        catch (AccessConflictException ex)
        {
            return List(request, ex.Message, name, provider, model, StatusCodes.Status400BadRequest);
        }
    }

    public static Task<IResult> ShowAsync(HttpContext http, string name, string? done)
    {
        var request = DashboardRequest.For(http);
        return request.Visible(name) is { } workspace
            ? RenderAsync(request, workspace, notice: done is null ? null : Notices.GetValueOrDefault(done))
            : Task.FromResult(NotFound(request));
    }

    public static async Task<IResult> SaveSettingsAsync(HttpContext http, string name, AccessStore store)
    {
        var request = DashboardRequest.For(http);
        if (Editable(request, name) is not { } workspace)
        {
            return Refused(request, name);
        }

        var form = await request.FormAsync();
        var policy = workspace.Policy with
        {
            Provider = form["provider"].ToString().Trim(),
            Model = form["model"].ToString().Trim(),
            Persona = NullIfBlank(form["persona"]),
            Guideline = NullIfBlank(form["guideline"]),
            Pii = form["pii"].ToString(),
            PiiRestore = form["pii_restore"].ToString(),
            Secrets = form["secrets"].ToString(),
            ScanOutput = form["scan_output"] == "on",
            WebSearch = form["web_search"] == "on",
            Search = new SearchPolicy
            {
                Backend = NullIfBlank(form["search_backend"]),
                BaseUrl = NullIfBlank(form["search_base_url"]),
                SearchFirst = form["search_first"] == "on",
            },
            AllowDirectModels = form["allow_direct_models"] == "on",
        };
        return await SaveAsync(request, store, workspace, policy, "settings", null);
    }

    public static async Task<IResult> SavePolicyAsync(HttpContext http, string name, AccessStore store)
    {
        var request = DashboardRequest.For(http);
        if (Editable(request, name) is not { } workspace)
        {
            return Refused(request, name);
        }

        var text = (await request.FormAsync())["policy"].ToString();
        WorkspacePolicy? policy;
        try
        {
            policy = JsonSerializer.Deserialize(text, OpenAIJson.StrictPolicy.WorkspacePolicy);
        }
        catch (JsonException ex)
        {
            return await RenderAsync(request, workspace, policyError: $"The policy is not valid JSON for a workspace: {ex.Message} The previous policy is unchanged.",
                policyText: text, status: StatusCodes.Status400BadRequest);
        }

        if (policy is null)
        {
            return await RenderAsync(request, workspace, policyError: "The policy is empty. The previous policy is unchanged.", policyText: text, status: StatusCodes.Status400BadRequest);
        }

        return await SaveAsync(request, store, workspace, policy, "policy", text);
    }

    public static async Task<IResult> SetMemberAsync(HttpContext http, string name, AccessStore store)
    {
        var request = DashboardRequest.For(http);
        if (Editable(request, name) is not { } workspace)
        {
            return Refused(request, name);
        }

        var form = await request.FormAsync();
        var email = form["email"].ToString().Trim();
        var user = email.Length == 0 ? null : await store.FindUserAsync(email, request.Aborted);
        if (user is null)
        {
            return await RenderAsync(request, workspace, memberError: "No user has that email address. Users are created with 'rampart users create' or the management API.",
                status: StatusCodes.Status400BadRequest);
        }

        try
        {
            await store.AddMemberAsync(workspace.Id, user.Id, form["role"].ToString(), request.Aborted);
        }
        catch (AccessConflictException ex)
        {
            return await RenderAsync(request, workspace, memberError: ex.Message, status: StatusCodes.Status400BadRequest);
        }

        return Results.Redirect($"/dashboard/workspaces/{Uri.EscapeDataString(workspace.Name)}?done=member#members");
    }

    public static async Task<IResult> RemoveMemberAsync(HttpContext http, string name, string userId, AccessStore store)
    {
        var request = DashboardRequest.For(http);
        if (Editable(request, name) is not { } workspace)
        {
            return Refused(request, name);
        }

        try
        {
            await store.RemoveMemberAsync(workspace.Id, userId, request.Aborted);
        }
        catch (AccessConflictException ex)
        {
            return await RenderAsync(request, workspace, memberError: ex.Message, status: StatusCodes.Status400BadRequest);
        }

        return Results.Redirect($"/dashboard/workspaces/{Uri.EscapeDataString(workspace.Name)}?done=removed#members");
    }

    private static async Task<IResult> SaveAsync(DashboardRequest request, AccessStore store, Workspace workspace, WorkspacePolicy policy, string what, string? policyText)
    {
        var problem = policy.Validate();
        if (problem is null)
        {
            try
            {
                await store.UpdateWorkspacePolicyAsync(workspace.Id, policy, request.Aborted);
                return Results.Redirect($"/dashboard/workspaces/{Uri.EscapeDataString(workspace.Name)}?done={what}");
            }
            catch (AccessConflictException ex)
            {
                problem = ex.Message;
            }
        }

        var message = $"Not saved: {problem}. The previous policy is unchanged.";
        return what == "policy"
            ? await RenderAsync(request, workspace, policyError: message, policyText: policyText, status: StatusCodes.Status400BadRequest)
            : await RenderAsync(request, workspace, settingsError: message, draft: policy, status: StatusCodes.Status400BadRequest);
    }

    private static Workspace? Editable(DashboardRequest request, string name) =>
        request.Visible(name) is { } workspace && request.IsAdminOf(workspace) ? workspace : null;

    private static IResult Refused(DashboardRequest request, string name) =>
        request.Visible(name) is null ? NotFound(request) : request.Forbidden("Only this workspace's admins can change it.");

    private static IResult NotFound(DashboardRequest request) => request.NotFound("No such workspace, or you are not a member of it.");

    private static string? NullIfBlank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Replace("\r\n", "\n", StringComparison.Ordinal);

    private static IResult List(DashboardRequest request, string? error, string name, string provider, string model, int status)
    {
        var workspaces = request.Workspaces;
        var rows = Html.Join(workspaces.Select(w => Html.Of($"""
            <tr>
              <td><a href="/dashboard/workspaces/{Uri.EscapeDataString(w.Name)}">{w.Name}</a></td>
              <td><code>{w.Policy.Provider}/{w.Policy.Model}</code></td>
              <td>{w.Policy.Pii}</td>
              <td>{w.Policy.Secrets}</td>
              <td>{(w.Policy.WebSearch ? "on" : "off")}</td>
              <td>{(request.IsAdminOf(w) ? Html.Raw("<span class=\"badge info\">admin</span>") : Html.Raw("<span class=\"badge grey\">member</span>"))}</td>
            </tr>
            """)));
        var table = workspaces.Count == 0
            ? Layout.Empty("You are not a member of any workspace yet. Ask an admin to add you.")
            : Html.Of($"""
                <div class="table-wrap"><table id="workspaces">
                  <thead><tr><th>Name (the model)</th><th>Provider / model</th><th>PII</th><th>Secrets</th><th>Web search</th><th>Your role</th></tr></thead>
                  <tbody>{rows}</tbody>
                </table></div>
                """);
        var create = request.User.IsOrgAdmin
            ? Html.Of($"""
                <section class="card">
                  <h2>Create a workspace</h2>
                  {Layout.Alert("error", error)}
                  <form class="inline" method="post" action="/dashboard/workspaces" id="create-workspace-form">
                    {request.Csrf}
                    <label>Name <input type="text" name="name" id="workspace-name" required maxlength="63" pattern="[a-z0-9][a-z0-9._\-]*" value="{name}" placeholder="e.g. support-bot"></label>
                    <label>Provider <select name="provider" id="workspace-provider">{Layout.Options(ProviderNames.Select(p => (p, p)), provider.Length == 0 ? "openai" : provider)}</select></label>
                    <label>Model <input type="text" name="model" id="workspace-model" required value="{(model.Length == 0 ? "gpt-4o-mini" : model)}"></label>
                    <button type="submit" id="create-workspace">Create workspace</button>
                  </form>
                  <p class="hint">Lower-case letters, digits, '.', '_' and '-'. You become its admin; the other settings start at safe defaults.</p>
                </section>
                """)
            : Html.Empty;
        return request.Page("Workspaces", "workspaces", Html.Of($"""
            {create}
            <section class="card"><h2>Your workspaces</h2>{table}</section>
            """), status);
    }

    private static async Task<IResult> RenderAsync(
        DashboardRequest request, Workspace workspace, string? notice = null, string? settingsError = null, string? policyError = null,
        string? memberError = null, string? policyText = null, WorkspacePolicy? draft = null, int status = StatusCodes.Status200OK)
    {
        var admin = request.IsAdminOf(workspace);
        var p = draft ?? workspace.Policy;
        var members = await request.Service<DashboardQueries>().MembersAsync(workspace.Id, request.Aborted);
        var path = $"/dashboard/workspaces/{Uri.EscapeDataString(workspace.Name)}";

        var memberRows = Html.Join(members.Select(m => Html.Of($"""
            <tr>
              <td>{m.DisplayName}<div class="hint">{m.Email}</div></td>
              <td>{(admin
                ? Html.Of($"""<form class="inline" method="post" action="{path}/members">{request.Csrf}<input type="hidden" name="email" value="{m.Email}"><select name="role" aria-label="Role of {m.Email}">{Layout.Options([(WorkspaceRoles.Member, "member"), (WorkspaceRoles.Admin, "admin")], m.Role)}</select><button type="submit" class="secondary">Save</button></form>""")
                : Html.Of($"{m.Role}"))}</td>
              <td>{Html.When(admin, Html.Of($"""<form method="post" action="{path}/members/{m.UserId}/remove">{request.Csrf}<button type="submit" class="danger">Remove</button></form>"""))}</td>
            </tr>
            """)));
        var membersTable = members.Count == 0
            ? Layout.Empty("No members yet. Organisation admins can use every workspace anyway.")
            : Html.Of($"""<div class="table-wrap"><table id="members"><thead><tr><th>Member</th><th>Role</th><th></th></tr></thead><tbody>{memberRows}</tbody></table></div>""");
        var addMember = admin
            ? Html.Of($"""
                <form class="inline" method="post" action="{path}/members" id="add-member-form">
                  {request.Csrf}
                  <label>Email <input type="email" name="email" required placeholder="person@example.com"></label>
                  <label>Role <select name="role">{Layout.Options([(WorkspaceRoles.Member, "member"), (WorkspaceRoles.Admin, "admin")], WorkspaceRoles.Member)}</select></label>
                  <button type="submit">Add member</button>
                </form>
                <p></p>
                """)
            : Html.Empty;

        var settings = admin ? SettingsForm(request, path, p, settingsError) : Facts(workspace.Policy);
        var json = policyText ?? JsonSerializer.Serialize(workspace.Policy, OpenAIJson.IndentedPolicy.WorkspacePolicy);
        var policy = admin
            ? Html.Of($"""
                <section class="card" id="policy">
                  <h2>Full policy (JSON)</h2>
                  {Layout.Alert("error", policyError)}
                  <p class="hint">The whole policy, firewall rules and limits included, as <code>rampart workspaces set-policy</code> takes it. Unknown fields are refused; fields left out keep their defaults.</p>
                  <form class="stack" method="post" action="{path}/policy" id="policy-form">
                    {request.Csrf}
                    <textarea class="code" name="policy" id="policy-json" spellcheck="false" aria-label="Policy JSON">{json}</textarea>
                    <button type="submit" id="save-policy">Save policy</button>
                  </form>
                </section>
                """)
            : Html.Empty;

        return request.Page($"Workspace {workspace.Name}", "workspaces", Html.Of($"""
            {Layout.Alert("success", notice)}
            <p class="muted">Call it with <code>"model": "{workspace.Name}"</code>. Created {Layout.Time(workspace.CreatedAt)} UTC. {(admin ? "You can edit it." : "You are a member; only its admins can change it.")}</p>
            <div class="grid">
              <section class="card" id="settings"><h2>Settings</h2>{settings}</section>
              <section class="card" id="members-card"><h2 id="members">Members</h2>{Layout.Alert("error", memberError)}{addMember}{membersTable}</section>
            </div>
            {policy}
            """), status);
    }

    private static Html SettingsForm(DashboardRequest request, string path, WorkspacePolicy p, string? error)
    {
        var providers = ProviderNames.Contains(p.Provider) ? ProviderNames : [.. ProviderNames, p.Provider];
        return Html.Of($"""
            {Layout.Alert("error", error)}
            <form class="stack" method="post" action="{path}/settings" id="settings-form">
              {request.Csrf}
              <label>Provider <select name="provider">{Layout.Options(providers.Select(x => (x, x)), p.Provider)}</select></label>
              <label>Model <input type="text" name="model" required value="{p.Model}"></label>
              <label>Default persona <span class="hint">the system prompt when the caller sends none; empty for none</span>
                <textarea name="persona" id="persona">{p.Persona ?? ""}</textarea></label>
              <label>Enforced guideline <span class="hint">always sent first, even with the caller's own system prompt</span>
                <textarea name="guideline" id="guideline">{p.Guideline ?? ""}</textarea></label>
              <label>PII minimum <select name="pii">{Layout.Options([("disabled", "disabled"), ("obfuscate", "obfuscate"), ("block", "block")], p.Pii)}</select></label>
              <label>PII restoration <select name="pii_restore">{Layout.Options([(PiiRestoreModes.Never, "never"), (PiiRestoreModes.Always, "always"), (PiiRestoreModes.OnRequest, "on request")], p.PiiRestore)}</select></label>
              <label>Secrets <select name="secrets">{Layout.Options([(SecretModes.Block, "block the request"), (SecretModes.Redact, "redact and continue")], p.Secrets)}</select></label>
              <label class="check"><input type="checkbox" name="scan_output"{Layout.Checked(p.ScanOutput)}> Scan the model's answers too (callers can then not ask for <code>logprobs</code>, which would carry the answer unscanned)</label>
              <label class="check"><input type="checkbox" name="web_search"{Layout.Checked(p.WebSearch)}> Web search allowed</label>
              <label>Search engine <span class="hint">a Brave or Tavily key of the workspace's own is a credential on the Providers page (search:brave, search:tavily)</span>
                <select name="search_backend">{Layout.Options([("", "the gateway's"), .. SearchBackendNames.All.Select(b => (b, b == SearchBackendNames.None ? "none (no web search)" : b))], p.Search?.Backend ?? "")}</select></label>
              <label>Search engine address <span class="hint">optional; needs an engine chosen above</span>
                <input type="url" name="search_base_url" placeholder="https://…" value="{p.Search?.BaseUrl ?? ""}"></label>
              <label class="check"><input type="checkbox" name="search_first"{Layout.Checked(p.Search?.SearchFirst == true)}> The model cannot call tools: search the question first</label>
              <label class="check"><input type="checkbox" name="allow_direct_models"{Layout.Checked(p.AllowDirectModels)}> Members may call provider/model ids directly</label>
              <button type="submit" id="save-settings">Save settings</button>
            </form>
            """);
    }

    private static Html Facts(WorkspacePolicy p) => Html.Of($"""
        <dl class="facts">
          <dt>Provider / model</dt><dd><code>{p.Provider}/{p.Model}</code></dd>
          <dt>Default persona</dt><dd>{p.Persona ?? "none"}</dd>
          <dt>Enforced guideline</dt><dd>{p.Guideline ?? "none"}</dd>
          <dt>PII minimum</dt><dd>{p.Pii}</dd>
          <dt>PII restoration</dt><dd>{p.PiiRestore}</dd>
          <dt>Secrets</dt><dd>{p.Secrets}</dd>
          <dt>Output scanning</dt><dd>{(p.ScanOutput ? "on" : "off")}</dd>
          <dt>Web search</dt><dd>{(p.WebSearch ? "allowed" : "off")} · engine: {p.Search?.Backend ?? "the gateway's"}{(p.Search?.SearchFirst == true ? " · searched first" : "")}</dd>
          <dt>Blocked topics</dt><dd>{p.BlockedTopics?.Count ?? 0}</dd>
        </dl>
        """);
}
