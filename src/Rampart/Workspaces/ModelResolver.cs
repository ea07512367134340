using Rampart.Auth;
using Rampart.OpenAI;
using Rampart.Providers;

namespace Rampart.Workspaces;

/// <summary>Where a request goes: the workspace whose policy applies and the provider model that answers.</summary>
/// <remarks><see cref="Direct"/>: the caller named a <c>provider/model</c> themselves, so the workspace's fallbacks do not apply.</remarks>
internal sealed record ModelRoute(Workspace Workspace, string Provider, string Model, bool Direct = false);

/// <summary>
/// Turns the request's <c>model</c> into a <see cref="ModelRoute"/>: a workspace name (models = workspaces), or a
/// <c>provider/model</c> id run under the caller's default workspace. Unknown and not-a-member look the same.
/// </summary>
internal static class ModelResolver
{
    public static (ModelRoute? Route, ApiError? Error) Resolve(AccessSnapshot access, Caller caller, string model, ProviderCatalog providers)
    {
        var slash = model.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            var workspace = access.FindWorkspace(model);
            if (workspace is null || access.RoleIn(caller.User, workspace) is null)
            {
                return (null, ApiError.ModelNotFound(model));
            }

            return (new ModelRoute(workspace, workspace.Policy.Provider, workspace.Policy.Model), null);
        }

        var provider = model[..slash];
        var providerModel = model[(slash + 1)..];
        if (providerModel.Length == 0 || !providers.IsKnown(provider))
        {
            return (null, ApiError.ModelNotFound(model));
        }

        var home = DefaultWorkspace(access, caller);
        if (home is null)
        {
            return (null, ApiError.PermissionDenied(
                $"You are not a member of any workspace, so the provider model '{model}' has no policy to run under.", "no_workspace"));
        }

        if (!home.Policy.AllowDirectModels)
        {
            return (null, ApiError.PermissionDenied(
                $"Your default workspace '{home.Name}' does not allow provider models to be called directly; use a workspace name as the model (see GET /api/v1/models).",
                "direct_models_disabled"));
        }

        return (new ModelRoute(home, ProviderCatalog.Canonical(provider), providerModel, Direct: true), null);
    }

    /// <summary>The user's chosen default workspace, else <c>default</c>, else their first workspace by name.</summary>
    public static Workspace? DefaultWorkspace(AccessSnapshot access, Caller caller)
    {
        bool Usable(Workspace? w) => w is not null && access.RoleIn(caller.User, w) is not null;

        if (caller.User.DefaultWorkspaceId is { } id && access.FindWorkspaceById(id) is var chosen && Usable(chosen))
        {
            return chosen;
        }

        var fallback = access.FindWorkspace(WorkspaceNames.Default);
        return Usable(fallback) ? fallback : access.WorkspacesOf(caller.User).FirstOrDefault();
    }
}
