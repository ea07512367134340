using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using Rampart.Auth;
using Rampart.Data;
using Rampart.OpenAI;
using Rampart.Providers;
using Rampart.Search;
using Rampart.Workspaces;

namespace Rampart.Management;

/// <summary>
/// <c>/api/v1/workspaces</c>, their policy, members and provider credentials. Creating and deleting a workspace is
/// for org admins; its policy, members and credentials for its admins (and org admins); members see the workspace.
/// </summary>
internal static class WorkspacesEndpoints
{
    /// <summary>
    /// A policy document as sent to <c>PUT …/policy</c>: the stored contract, but an unknown field is an error, so a typo
    /// ("blocked_topic") is refused instead of silently ignored. Fields left out keep their defaults.
    /// </summary>
    private static readonly JsonTypeInfo<WorkspacePolicy> StrictPolicy = (JsonTypeInfo<WorkspacePolicy>)new JsonSerializerOptions(OpenAIJson.Wire.Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    }.GetTypeInfo(typeof(WorkspacePolicy));

    public static RouteGroupBuilder MapWorkspaces(this RouteGroupBuilder api)
    {
        var workspaces = api.MapGroup("/workspaces").WithTags("Workspaces");
        workspaces.MapGet("", List).Produces<ListOf<WorkspaceView>>().WithSummary("Workspaces the caller belongs to (all, for org admins).");
        workspaces.MapPost("", CreateAsync).Accepts<CreateWorkspaceRequest>("application/json").Produces<WorkspaceView>(StatusCodes.Status201Created)
            .WithSummary("Create a workspace (org admin).");
        workspaces.MapGet("/{workspace}", Get).Produces<WorkspaceView>().WithSummary("One workspace; its policy is included for its admins.");
        workspaces.MapDelete("/{workspace}", DeleteAsync).Produces(StatusCodes.Status204NoContent).WithSummary("Delete a workspace with its members and credentials (org admin).");
        workspaces.MapGet("/{workspace}/policy", GetPolicy).Produces<WorkspacePolicy>().WithSummary("The whole policy document (workspace admin).");
        workspaces.MapPut("/{workspace}/policy", ReplacePolicyAsync).Accepts<WorkspacePolicy>("application/json").Produces<WorkspacePolicy>()
            .WithSummary("Replace the whole policy with a validated document (workspace admin); an invalid one is refused and the old one kept.");

        workspaces.MapGet("/{workspace}/members", Members).Produces<ListOf<MemberView>>().WithSummary("Members and their roles (workspace admin).");
        workspaces.MapPost("/{workspace}/members", AddMemberAsync).Accepts<AddMemberRequest>("application/json").Produces<ListOf<MemberView>>()
            .WithSummary("Add a user by id or email (workspace admin).");
        workspaces.MapPut("/{workspace}/members/{userId}", ChangeRoleAsync).Accepts<MemberRoleRequest>("application/json").Produces<ListOf<MemberView>>()
            .WithSummary("Change a member's role (workspace admin).");
        workspaces.MapDelete("/{workspace}/members/{userId}", RemoveMemberAsync).Produces(StatusCodes.Status204NoContent).WithSummary("Remove a member (workspace admin).");

        workspaces.MapGet("/{workspace}/credentials", Credentials).Produces<ListOf<CredentialView>>()
            .WithSummary("The workspace's own provider credentials: never the keys, only a hint (workspace admin).");
        workspaces.MapPut("/{workspace}/credentials/{provider}", SetCredentialAsync).Accepts<SetCredentialRequest>("application/json").Produces<CredentialView>()
            .WithSummary("Set the workspace's key and/or base URL for a provider; the key is stored encrypted and never returned (workspace admin).");
        workspaces.MapDelete("/{workspace}/credentials/{provider}", RemoveCredentialAsync).Produces(StatusCodes.Status204NoContent)
            .WithSummary("Remove the workspace's credential for a provider; the gateway's own is used again (workspace admin).");
        return api;
    }

    private static JsonHttpResult<ListOf<WorkspaceView>> List(HttpContext http, AccessCache access)
    {
        var caller = http.GetCaller();
        var snapshot = access.Current;
        var views = snapshot.WorkspacesOf(caller.User).Select(w => ToView(snapshot, caller, w, withPolicy: false)).ToList();
        return TypedResults.Json(new ListOf<WorkspaceView>(views), ManagementJson.Wire.ListOfWorkspaceView);
    }

    private static IResult Get(string workspace, HttpContext http, AccessCache access)
    {
        var caller = http.GetCaller();
        var snapshot = access.Current;
        var (found, error) = ManagementAccess.Workspace(snapshot, caller, workspace, requireAdmin: false);
        return found is null
            ? error!.ToResult()
            : TypedResults.Json(ToView(snapshot, caller, found, withPolicy: snapshot.RoleIn(caller.User, found) == WorkspaceRoles.Admin), ManagementJson.Wire.WorkspaceView);
    }

    private static async Task<IResult> CreateAsync(HttpContext http, AccessStore store, AccessCache access, CancellationToken ct)
    {
        var caller = http.GetCaller();
        if (ManagementAccess.RequireOrgAdmin(caller) is { } denied)
        {
            return denied.ToResult();
        }

        var (request, error) = await RequestBody.ReadAsync(http, ManagementJson.Wire.CreateWorkspaceRequest);
        if (request is null)
        {
            return error!.ToResult();
        }

        var created = await store.CreateWorkspaceAsync(request.Name, request.Policy ?? new WorkspacePolicy(), ct);
        return TypedResults.Json(ToView(access.Current, caller, created, withPolicy: true), ManagementJson.Wire.WorkspaceView, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> DeleteAsync(string workspace, HttpContext http, AccessStore store, AccessCache access, CancellationToken ct)
    {
        var caller = http.GetCaller();
        var (found, error) = ManagementAccess.Workspace(access.Current, caller, workspace, requireAdmin: false);
        if (found is null)
        {
            return error!.ToResult();
        }

        if (ManagementAccess.RequireOrgAdmin(caller) is { } denied)
        {
            return denied.ToResult();
        }

        await store.DeleteWorkspaceAsync(found.Id, ct);
        return TypedResults.NoContent();
    }

    private static IResult GetPolicy(string workspace, HttpContext http, AccessCache access)
    {
        var (found, error) = ManagementAccess.Workspace(access.Current, http.GetCaller(), workspace, requireAdmin: true);
        return found is null ? error!.ToResult() : TypedResults.Json(found.Policy, OpenAIJson.Wire.WorkspacePolicy);
    }

    private static async Task<IResult> ReplacePolicyAsync(string workspace, HttpContext http, AccessStore store, AccessCache access, CancellationToken ct)
    {
        var (found, error) = ManagementAccess.Workspace(access.Current, http.GetCaller(), workspace, requireAdmin: true);
        if (found is null)
        {
            return error!.ToResult();
        }

        var (policy, invalid) = await RequestBody.ReadAsync(http, StrictPolicy);
        if (policy is null)
        {
            return invalid!.ToResult();
        }

        if (policy.Validate() is { } problem)
        {
            return ApiError.InvalidRequest($"Invalid workspace policy: {problem}. The current policy is unchanged.", "policy", "invalid_policy").ToResult();
        }

        var updated = await store.UpdateWorkspacePolicyAsync(found.Id, policy, ct);
        return TypedResults.Json(updated.Policy, OpenAIJson.Wire.WorkspacePolicy);
    }

    // ---- members ----

    private static IResult Members(string workspace, HttpContext http, AccessCache access)
    {
        var snapshot = access.Current;
        var (found, error) = ManagementAccess.Workspace(snapshot, http.GetCaller(), workspace, requireAdmin: true);
        return found is null ? error!.ToResult() : MemberList(snapshot, found);
    }

    private static async Task<IResult> AddMemberAsync(string workspace, HttpContext http, AccessStore store, AccessCache access, CancellationToken ct)
    {
        var (found, error) = ManagementAccess.Workspace(access.Current, http.GetCaller(), workspace, requireAdmin: true);
        if (found is null)
        {
            return error!.ToResult();
        }

        var (request, invalid) = await RequestBody.ReadAsync(http, ManagementJson.Wire.AddMemberRequest);
        if (request is null)
        {
            return invalid!.ToResult();
        }

        var user = await store.FindUserAsync(request.User, ct);
        if (user is null)
        {
            return ManagementAccess.NotFound("user", request.User, "user").ToResult();
        }

        await store.AddMemberAsync(found.Id, user.Id, request.Role ?? WorkspaceRoles.Member, ct);
        return MemberList(access.Current, found);
    }

    private static async Task<IResult> ChangeRoleAsync(string workspace, string userId, HttpContext http, AccessStore store, AccessCache access, CancellationToken ct)
    {
        var snapshot = access.Current;
        var (found, error) = ManagementAccess.Workspace(snapshot, http.GetCaller(), workspace, requireAdmin: true);
        if (found is null)
        {
            return error!.ToResult();
        }

        if (!snapshot.MembersOf(found).Any(m => m.User.Id == userId))
        {
            return ManagementAccess.NotFound("member", userId, "user").ToResult();
        }

        var (request, invalid) = await RequestBody.ReadAsync(http, ManagementJson.Wire.MemberRoleRequest);
        if (request is null)
        {
            return invalid!.ToResult();
        }

        await store.AddMemberAsync(found.Id, userId, request.Role, ct);
        return MemberList(access.Current, found);
    }

    private static async Task<IResult> RemoveMemberAsync(string workspace, string userId, HttpContext http, AccessStore store, AccessCache access, CancellationToken ct)
    {
        var (found, error) = ManagementAccess.Workspace(access.Current, http.GetCaller(), workspace, requireAdmin: true);
        if (found is null)
        {
            return error!.ToResult();
        }

        await store.RemoveMemberAsync(found.Id, userId, ct);
        return TypedResults.NoContent();
    }

    // ---- provider credentials ----

    private static IResult Credentials(string workspace, HttpContext http, AccessCache access)
    {
        var snapshot = access.Current;
        var (found, error) = ManagementAccess.Workspace(snapshot, http.GetCaller(), workspace, requireAdmin: true);
        if (found is null)
        {
            return error!.ToResult();
        }

        var views = snapshot.CredentialsOf(found.Id).OrderBy(c => c.Provider, StringComparer.Ordinal).Select(ToView).ToList();
        return TypedResults.Json(new ListOf<CredentialView>(views), ManagementJson.Wire.ListOfCredentialView);
    }

    private static async Task<IResult> SetCredentialAsync(
        string workspace, string provider, HttpContext http, AccessStore store, AccessCache access, CredentialProtector protector, CancellationToken ct)
    {
        var (found, error) = ManagementAccess.Workspace(access.Current, http.GetCaller(), workspace, requireAdmin: true);
        if (found is null)
        {
            return error!.ToResult();
        }

        var name = ProviderCatalog.Canonical(provider);
        if (!ProviderCatalog.IsKnownName(name) && !name.StartsWith("search:", StringComparison.Ordinal))
        {
            return ApiError.InvalidRequest(
                $"Unknown provider '{provider}'. Credentials are for a provider (openai, xai, deepseek, azure, anthropic, google) or a search engine's key ({string.Join(", ", SearchBackendNames.Keyed.Select(SearchBackendNames.CredentialName))}).",
                "provider", "unknown_provider").ToResult();
        }

        var (request, invalid) = await RequestBody.ReadAsync(http, ManagementJson.Wire.SetCredentialRequest);
        if (request is null)
        {
            return invalid!.ToResult();
        }

        var key = string.IsNullOrWhiteSpace(request.ApiKey) ? null : request.ApiKey.Trim();
        var baseUrl = string.IsNullOrWhiteSpace(request.BaseUrl) ? null : request.BaseUrl.Trim();
        await store.SetProviderCredentialAsync(found.Id, name, baseUrl, key is null ? null : protector.Protect(key), key is null ? null : CredentialProtector.Hint(key), ct);
        var stored = access.Current.CredentialFor(found.Id, name);
        return stored is null ? ManagementAccess.NotFound("credential", name, "provider").ToResult() : TypedResults.Json(ToView(stored), ManagementJson.Wire.CredentialView);
    }

    private static async Task<IResult> RemoveCredentialAsync(string workspace, string provider, HttpContext http, AccessStore store, AccessCache access, CancellationToken ct)
    {
        var (found, error) = ManagementAccess.Workspace(access.Current, http.GetCaller(), workspace, requireAdmin: true);
        if (found is null)
        {
            return error!.ToResult();
        }

        await store.RemoveProviderCredentialAsync(found.Id, ProviderCatalog.Canonical(provider), ct);
        return TypedResults.NoContent();
    }

    // ---- views ----

    private static JsonHttpResult<ListOf<MemberView>> MemberList(AccessSnapshot snapshot, Workspace workspace) =>
        TypedResults.Json(
            new ListOf<MemberView>([.. snapshot.MembersOf(workspace).Select(m => new MemberView(m.User.Id, m.User.Email, m.User.DisplayName, m.Role))]),
            ManagementJson.Wire.ListOfMemberView);

    private static WorkspaceView ToView(AccessSnapshot snapshot, Caller caller, Workspace w, bool withPolicy) =>
        new(w.Id, w.Name, w.Policy.Provider, w.Policy.Model, snapshot.RoleIn(caller.User, w) ?? WorkspaceRoles.Member, Time.FromMs(w.CreatedAt),
            withPolicy ? w.Policy : null);

    private static CredentialView ToView(ProviderCredential c) => new(c.Provider, c.BaseUrl, c.KeyHint, Time.FromMs(c.UpdatedAt));
}
