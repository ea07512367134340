using Rampart.Auth;
using Rampart.OpenAI;
using Rampart.Workspaces;

namespace Rampart.Gateway;

/// <summary><c>GET /models</c> and <c>GET /models/{name}</c>: the caller's workspaces in OpenAI's model format.</summary>
internal static class ModelsEndpoints
{
    public static IResult List(HttpContext http, AccessCache access)
    {
        var caller = http.GetCaller();
        var models = access.Current.WorkspacesOf(caller.User).Select(ToModel).ToList();
        return TypedResults.Json(new ModelList("list", models), OpenAIJson.Wire.ModelList);
    }

    public static IResult Retrieve(string name, HttpContext http, AccessCache access)
    {
        var snapshot = access.Current;
        var workspace = snapshot.FindWorkspace(name);
        return workspace is not null && snapshot.RoleIn(http.GetCaller().User, workspace) is not null
            ? TypedResults.Json(ToModel(workspace), OpenAIJson.Wire.ModelInfo)
            : ApiError.ModelNotFound(name).ToResult();
    }

    private static ModelInfo ToModel(Workspace w) =>
        new(w.Name, "model", w.CreatedAt / 1000, "organization", w.Name, null, []);
}
