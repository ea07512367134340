using Microsoft.AspNetCore.Mvc;
using Rampart.Auth;
using Rampart.Data;
using Rampart.OpenAI;

namespace Rampart.Management;

/// <summary>
/// <c>/api/v1/keys</c>: everyone creates, lists and revokes their own keys; org admins may list and revoke anyone's
/// (and create keys for another user).
/// </summary>
internal static class KeysEndpoints
{
    public static RouteGroupBuilder MapKeys(this RouteGroupBuilder api)
    {
        var keys = api.MapGroup("/keys").WithTags("API keys");
        keys.MapGet("", ListAsync).Produces<ListOf<KeyView>>()
            .WithSummary("Your keys; org admins: ?user_id=… for one user's, ?all=true for everyone's. Never the key values.");
        keys.MapPost("", CreateAsync).Accepts<CreateKeyRequest>("application/json").Produces<CreatedKey>(StatusCodes.Status201Created)
            .WithSummary("Create a key; its value is in this answer only.");
        keys.MapDelete("/{id}", RevokeAsync).Produces<KeyView>().WithSummary("Revoke a key: yours, or anyone's for org admins. It stops working at once.");
        return api;
    }

    private static async Task<IResult> ListAsync([FromQuery(Name = "user_id")] string? userId, string? all, HttpContext http, AccessStore store, KeyUsageTracker usage, TimeProvider time, CancellationToken ct)
    {
        var caller = http.GetCaller();
        var everyone = string.Equals(all, "true", StringComparison.OrdinalIgnoreCase);
        if ((everyone || (userId is not null && userId != caller.User.Id)) && ManagementAccess.RequireOrgAdmin(caller) is { } denied)
        {
            return denied.ToResult();
        }

        var keys = await store.ListKeysAsync(everyone ? null : userId ?? caller.User.Id, ct);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return TypedResults.Json(new ListOf<KeyView>([.. keys.Select(k => ToView(k, usage, now))]), ManagementJson.Wire.ListOfKeyView);
    }

    private static async Task<IResult> CreateAsync(HttpContext http, AccessStore store, KeyUsageTracker usage, TimeProvider time, CancellationToken ct)
    {
        var caller = http.GetCaller();
        var (request, error) = await RequestBody.ReadAsync(http, ManagementJson.Wire.CreateKeyRequest);
        if (request is null)
        {
            return error!.ToResult();
        }

        var owner = request.UserId ?? caller.User.Id;
        if (owner != caller.User.Id && ManagementAccess.RequireOrgAdmin(caller) is { } denied)
        {
            return denied.ToResult();
        }

        if (owner == Caller.MasterUserId)
        {
            return ApiError.InvalidRequest("The master key belongs to no user: give user_id to create a key for one.", "user_id").ToResult();
        }

        if (request.ExpiresInDays is <= 0 or > 3650)
        {
            return ApiError.InvalidRequest("expires_in_days must be between 1 and 3650; leave it out for a key that does not expire.", "expires_in_days").ToResult();
        }

        var now = time.GetUtcNow();
        var expires = request.ExpiresInDays is { } days ? now.AddDays(days) : (DateTimeOffset?)null;
        var (record, key) = await store.CreateKeyAsync(owner, request.Name, expires, ct);
        return TypedResults.Json(new CreatedKey(key, ToView(record, usage, now.ToUnixTimeMilliseconds())), ManagementJson.Wire.CreatedKey,
            statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> RevokeAsync(string id, HttpContext http, AccessStore store, KeyUsageTracker usage, TimeProvider time, CancellationToken ct)
    {
        var caller = http.GetCaller();
        // Others' keys are "not found" to a non-admin, so key ids cannot be probed.
        var own = await store.ListKeysAsync(caller.User.IsOrgAdmin ? null : caller.User.Id, ct);
        var key = own.FirstOrDefault(k => k.Id == id);
        if (key is null)
        {
            return ManagementAccess.NotFound("API key", id, "key").ToResult();
        }

        if (key.RevokedAt is null)
        {
            await store.RevokeKeyAsync(id, ct);
        }

        var revoked = (await store.ListKeysAsync(key.UserId, ct)).First(k => k.Id == id);
        return TypedResults.Json(ToView(revoked, usage, time.GetUtcNow().ToUnixTimeMilliseconds()), ManagementJson.Wire.KeyView);
    }

    private static KeyView ToView(ApiKeyRecord k, KeyUsageTracker usage, long now)
    {
        var lastUsed = Math.Max(k.LastUsedAt ?? 0, usage.PendingLastUsedAt(k.Id) ?? 0);
        var status = k.RevokedAt is not null ? "revoked" : k.ExpiresAt is { } e && e <= now ? "expired" : "active";
        return new KeyView(k.Id, k.UserId, k.Name, k.Prefix, Time.FromMs(k.CreatedAt), lastUsed == 0 ? null : Time.FromMs(lastUsed),
            k.RequestCount + usage.PendingCount(k.Id), Time.FromMs(k.ExpiresAt), status, Time.FromMs(k.RevokedAt));
    }
}
