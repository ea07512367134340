using Rampart.Auth;
using Rampart.Data;

namespace Rampart.Dashboard;

/// <summary>The seed's key flow: "Create API Key", name it, copy it (shown once), see request counts and last use, delete. And the password.</summary>
internal static class ProfilePage
{
    public const int MinPasswordLength = 12;

    private static readonly Dictionary<string, string> Notices = new(StringComparer.Ordinal)
    {
        ["key-deleted"] = "The key was deleted. Requests with it are refused from now on.",
        ["password-changed"] = "Your password was changed. Other sessions were signed out.",
    };

    public static Task<IResult> ShowAsync(HttpContext http, string? done) =>
        RenderAsync(DashboardRequest.For(http), notice: done is not null ? Notices.GetValueOrDefault(done) : null);

    public static async Task<IResult> CreateKeyAsync(HttpContext http, AccessStore store)
    {
        var request = DashboardRequest.For(http);
        var name = (await request.FormAsync())["name"].ToString().Trim();
        try
        {
            var (record, key) = await store.CreateKeyAsync(request.User.Id, name, null, request.Aborted);
            return await RenderAsync(request, newKey: (record, key));
        }
        catch (AccessConflictException ex)
        {
            return await RenderAsync(request, error: ex.Message, keyName: name, status: StatusCodes.Status400BadRequest);
        }
    }

    public static async Task<IResult> DeleteKeyAsync(HttpContext http, string keyId, AccessStore store)
    {
        var request = DashboardRequest.For(http);
        var mine = await store.ListKeysAsync(request.User.Id, request.Aborted);
        if (!mine.Any(k => k.Id == keyId && k.RevokedAt is null))
        {
            return await RenderAsync(request, error: "That key does not exist or is already deleted.", status: StatusCodes.Status404NotFound);
        }

        await store.RevokeKeyAsync(keyId, request.Aborted);
        return Results.Redirect("/dashboard/profile?done=key-deleted");
    }

    public static async Task<IResult> ChangePasswordAsync(HttpContext http, DashboardQueries queries, IConfiguration configuration)
    {
        var request = DashboardRequest.For(http);
        var form = await request.FormAsync();
        var current = form["current"].ToString();
        var next = form["new"].ToString();
        var stored = await queries.PasswordHashAsync(request.User.Id, request.Aborted);
        string? problem = stored is null || !PasswordHasher.Verify(current, stored) ? "Your current password is not correct."
            : next.Length < MinPasswordLength ? $"The new password needs at least {MinPasswordLength} characters."
            : next != form["confirm"].ToString() ? "The new password and its confirmation differ."
            : null;
        if (problem is not null)
        {
            return await RenderAsync(request, passwordError: problem, status: StatusCodes.Status400BadRequest);
        }

        var hash = PasswordHasher.Hash(next, configuration.GetValue("Rampart:PasswordIterations", PasswordHasher.DefaultIterations));
        await queries.SetPasswordHashAsync(request.User.Id, hash, request.Aborted);
        // A new stamp for this session; every other session of this user fails validation on its next request.
        await DashboardSession.SignInAsync(http, request.User, hash);
        return Results.Redirect("/dashboard/profile?done=password-changed");
    }

    private static long? Latest(long? stored, long? seen) => stored is null ? seen : seen is null ? stored : Math.Max(stored.Value, seen.Value);

    private static async Task<IResult> RenderAsync(
        DashboardRequest request, string? notice = null, string? error = null, string? passwordError = null, string keyName = "",
        (ApiKeyRecord Record, string Key)? newKey = null, int status = StatusCodes.Status200OK)
    {
        var tracker = request.Service<KeyUsageTracker>();
        var keys = (await request.Service<AccessStore>().ListKeysAsync(request.User.Id, request.Aborted)).Where(k => k.RevokedAt is null).ToList();
        var shownOnce = newKey is { } created
            ? Html.Of($"""
                <div class="newkey" id="new-key-box">
                  <strong>Copy your new key "{created.Record.Name}" now. It will not be shown again.</strong>
                  <div class="row"><input type="text" id="new-key" value="{created.Key}" readonly aria-label="New API key"><button type="button" class="secondary" data-copy="new-key">Copy</button></div>
                  <p class="hint">Use it as <code>Authorization: Bearer …</code> with base URL <code>{request.Http.Request.Scheme}://{request.Http.Request.Host.Value}/api/v1</code> and a workspace name as the model.</p>
                </div>
                """)
            : Html.Empty;
        var rows = Html.Join(keys.Select(k => Html.Of($"""
            <tr data-key-id="{k.Id}">
              <td class="key-name">{k.Name}</td>
              <td><code>{k.Prefix}…</code></td>
              <td>{Layout.Time(k.CreatedAt)}</td>
              <td>{Layout.Time(Latest(k.LastUsedAt, tracker.PendingLastUsedAt(k.Id)))}</td>
              <td class="num">{Layout.Number(k.RequestCount + tracker.PendingCount(k.Id))}</td>
              <td><form method="post" action="/dashboard/profile/keys/{k.Id}/delete">{request.Csrf}<button type="submit" class="danger" aria-label="Delete key {k.Name}">Delete</button></form></td>
            </tr>
            """)));
        var table = keys.Count == 0
            ? Layout.Empty("No API keys yet. Create one to call the API.")
            : Html.Of($"""
                <div class="table-wrap"><table id="keys">
                  <thead><tr><th>Name</th><th>Key</th><th>Created (UTC)</th><th>Last used (UTC)</th><th class="num">Requests</th><th></th></tr></thead>
                  <tbody>{rows}</tbody>
                </table></div>
                """);
        var workspaces = request.Workspaces;
        var body = Html.Of($"""
            {Layout.Alert("success", notice)}
            <section class="card">
              <h2>API keys</h2>
              {Layout.Alert("error", error)}
              {shownOnce}
              <form class="inline" method="post" action="/dashboard/profile/keys" id="create-key-form">
                {request.Csrf}
                <label>Key name <input type="text" name="name" id="key-name" maxlength="100" required value="{keyName}" placeholder="e.g. laptop, CI pipeline"></label>
                <button type="submit" id="create-key">Create API Key</button>
              </form>
              <p></p>
              {table}
            </section>
            <div class="grid">
              <section class="card">
                <h2>Account</h2>
                <dl class="facts">
                  <dt>Email</dt><dd>{request.User.Email}</dd>
                  <dt>Name</dt><dd>{request.User.DisplayName}</dd>
                  <dt>Role</dt><dd>{(request.User.IsOrgAdmin ? "Organisation admin" : "Member")}</dd>
                  <dt>Workspaces</dt><dd>{(workspaces.Count == 0 ? "none yet" : string.Join(", ", workspaces.Select(w => w.Name)))}</dd>
                </dl>
              </section>
              <section class="card">
                <h2>Change password</h2>
                {Layout.Alert("error", passwordError)}
                <form class="stack" method="post" action="/dashboard/profile/password">
                  {request.Csrf}
                  <label>Current password <input type="password" name="current" autocomplete="current-password" required></label>
                  <label>New password <span class="hint">at least {MinPasswordLength} characters</span><input type="password" name="new" autocomplete="new-password" minlength="{MinPasswordLength}" required></label>
                  <label>Confirm new password <input type="password" name="confirm" autocomplete="new-password" required></label>
                  <button type="submit">Change password</button>
                </form>
              </section>
            </div>
            """);
        return request.Page("Profile", "profile", body, status);
    }
}
