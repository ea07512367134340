using Rampart.Auth;
using Rampart.Data;
using Rampart.OpenAI;

namespace Rampart.Management;

/// <summary><c>/api/v1/users</c>: org admins only.</summary>
internal static class UsersEndpoints
{
    private const int MinPasswordLength = 12;

    public static RouteGroupBuilder MapUsers(this RouteGroupBuilder api)
    {
        var users = api.MapGroup("/users").WithTags("Users");
        users.MapGet("", ListAsync).Produces<ListOf<UserView>>().WithSummary("List users (org admin).");
        users.MapPost("", CreateAsync).Accepts<CreateUserRequest>("application/json").Produces<CreatedUser>(StatusCodes.Status201Created)
            .WithSummary("Create a user (org admin); a generated password is returned once.");
        users.MapPatch("/{id}", UpdateAsync).Accepts<UpdateUserRequest>("application/json").Produces<UserView>().WithSummary("Change a user's name or org role (org admin).");
        users.MapPost("/{id}/disable", (string id, HttpContext http, AccessStore store, CancellationToken ct) => SetDisabledAsync(id, true, http, store, ct))
            .Produces<UserView>().WithSummary("Disable a user: their keys stop working at once (org admin).");
        users.MapPost("/{id}/enable", (string id, HttpContext http, AccessStore store, CancellationToken ct) => SetDisabledAsync(id, false, http, store, ct))
            .Produces<UserView>().WithSummary("Enable a disabled user (org admin).");
        return api;
    }

    public static UserView ToView(User u) =>
        new(u.Id, u.Email, u.DisplayName, u.OrgRole, u.DisabledAt is null ? "active" : "disabled", Time.FromMs(u.CreatedAt), Time.FromMs(u.DisabledAt));

    private static async Task<IResult> ListAsync(HttpContext http, AccessStore store, CancellationToken ct)
    {
        if (ManagementAccess.RequireOrgAdmin(http.GetCaller()) is { } denied)
        {
            return denied.ToResult();
        }

        var users = await store.ListUsersAsync(ct);
        return TypedResults.Json(new ListOf<UserView>([.. users.Select(ToView)]), ManagementJson.Wire.ListOfUserView);
    }

    private static async Task<IResult> CreateAsync(HttpContext http, AccessStore store, IConfiguration configuration, CancellationToken ct)
    {
        if (ManagementAccess.RequireOrgAdmin(http.GetCaller()) is { } denied)
        {
            return denied.ToResult();
        }

        var (request, error) = await RequestBody.ReadAsync(http, ManagementJson.Wire.CreateUserRequest);
        if (request is null)
        {
            return error!.ToResult();
        }

        if (request.Password is { Length: < MinPasswordLength })
        {
            return ApiError.InvalidRequest($"A password needs at least {MinPasswordLength} characters; leave it out to have one generated.", "password").ToResult();
        }

        var password = request.Password ?? Ids.RandomBase62(20);
        var iterations = configuration.GetValue("Rampart:PasswordIterations", PasswordHasher.DefaultIterations);
        var user = await store.CreateUserAsync(request.Email, request.Name ?? "", PasswordHasher.Hash(password, iterations), request.Role ?? OrgRoles.Member, ct);
        return TypedResults.Json(new CreatedUser(ToView(user), request.Password is null ? password : null), ManagementJson.Wire.CreatedUser,
            statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> UpdateAsync(string id, HttpContext http, AccessStore store, CancellationToken ct)
    {
        var caller = http.GetCaller();
        if (ManagementAccess.RequireOrgAdmin(caller) is { } denied)
        {
            return denied.ToResult();
        }

        var (request, error) = await RequestBody.ReadAsync(http, ManagementJson.Wire.UpdateUserRequest);
        if (request is null)
        {
            return error!.ToResult();
        }

        if (id == caller.User.Id && request.Role is { } role && role != OrgRoles.Admin)
        {
            return ApiError.InvalidRequest("You cannot take your own org admin role away; ask another org admin.", "role").ToResult();
        }

        return TypedResults.Json(ToView(await store.UpdateUserAsync(id, request.Name, request.Role, ct)), ManagementJson.Wire.UserView);
    }

    private static async Task<IResult> SetDisabledAsync(string id, bool disabled, HttpContext http, AccessStore store, CancellationToken ct)
    {
        var caller = http.GetCaller();
        if (ManagementAccess.RequireOrgAdmin(caller) is { } denied)
        {
            return denied.ToResult();
        }

        if (disabled && id == caller.User.Id)
        {
            return ApiError.InvalidRequest("You cannot disable your own account.").ToResult();
        }

        await store.SetUserDisabledAsync(id, disabled, ct);
        var user = await store.FindUserAsync(id, ct);
        return user is null ? ManagementAccess.NotFound("user", id, "user").ToResult() : TypedResults.Json(ToView(user), ManagementJson.Wire.UserView);
    }
}

/// <summary>The API shows times as ISO 8601 (UTC); the database keeps unix milliseconds.</summary>
internal static class Time
{
    public static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    public static DateTimeOffset? FromMs(long? ms) => ms is { } value ? DateTimeOffset.FromUnixTimeMilliseconds(value) : null;
}
