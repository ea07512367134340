using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Rampart.Auth;
using Rampart.OpenAI;
using Rampart.Workspaces;

namespace Rampart.Management;

/// <summary>The role checks of the management API, in one place, answered in OpenAI's error envelope.</summary>
internal static class ManagementAccess
{
    public static ApiError? RequireOrgAdmin(Caller caller) =>
        caller.User.IsOrgAdmin ? null : ApiError.PermissionDenied("Only an org admin can do this.", "org_admin_required");

    /// <summary>
    /// The workspace named (or with the id) <paramref name="nameOrId"/>, if the caller belongs to it; with
    /// <paramref name="requireAdmin"/>, only if they are its admin (org admins are admins of every workspace).
    /// A workspace the caller cannot see is "not found", so its existence does not leak.
    /// </summary>
    public static (Workspace? Workspace, ApiError? Error) Workspace(AccessSnapshot snapshot, Caller caller, string nameOrId, bool requireAdmin)
    {
        var workspace = snapshot.FindWorkspace(nameOrId) ?? snapshot.FindWorkspaceById(nameOrId);
        var role = workspace is null ? null : snapshot.RoleIn(caller.User, workspace);
        if (workspace is null || role is null)
        {
            return (null, new ApiError(StatusCodes.Status404NotFound,
                $"No workspace '{nameOrId}', or you do not have access to it.", "invalid_request_error", "workspace", "workspace_not_found"));
        }

        return requireAdmin && role != WorkspaceRoles.Admin
            ? (null, ApiError.PermissionDenied($"Only an admin of workspace '{workspace.Name}' (or an org admin) can do this.", "workspace_admin_required"))
            : (workspace, null);
    }

    /// <summary>Ids of the workspaces whose audit and usage the caller may read beyond their own requests.</summary>
    public static IReadOnlyList<string> AdministeredWorkspaces(AccessSnapshot snapshot, Caller caller) =>
        [.. snapshot.WorkspacesOf(caller.User).Where(w => snapshot.RoleIn(caller.User, w) == WorkspaceRoles.Admin).Select(w => w.Id)];

    public static ApiError NotFound(string what, string id, string param) =>
        new(StatusCodes.Status404NotFound, $"No {what} '{id}'.", "invalid_request_error", param, $"{param}_not_found");
}

/// <summary>Reads a JSON request body with a source-generated contract; a malformed body is a 400 that says what is wrong.</summary>
internal static class RequestBody
{
    public static async Task<(T? Value, ApiError? Error)> ReadAsync<T>(HttpContext http, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        if (http.Request.ContentType is not { } type || !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, ApiError.InvalidRequest("Send the request body as JSON with 'Content-Type: application/json'.", code: "invalid_content_type"));
        }

        try
        {
            var value = await JsonSerializer.DeserializeAsync(http.Request.Body, typeInfo, http.RequestAborted);
            return value is null ? (null, ApiError.InvalidRequest("The request body is empty or null.", code: "invalid_json")) : (value, null);
        }
        catch (JsonException ex)
        {
            // The serializer's message names the field and position (e.g. "The JSON property 'emial' could not be mapped…").
            return (null, ApiError.InvalidRequest($"The request body is not valid: {ex.Message}", ex.Path, "invalid_json"));
        }
    }
}
