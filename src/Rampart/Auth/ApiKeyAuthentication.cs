using Microsoft.AspNetCore.Authorization;
using Rampart.Audit;
using Rampart.OpenAI;

namespace Rampart.Auth;

/// <summary>
/// Bearer API keys for <c>/api/v1</c> (and <c>/v1</c>). Verification is a SHA-256 and a dictionary lookup in the access
/// snapshot; the outcome is a <see cref="Caller"/> on the request (<see cref="CallerExtensions.GetCaller"/>), or a 401 in
/// OpenAI's error envelope on the endpoints marked with <see cref="ApiKeyRequired"/>.
/// </summary>
/// <remarks>
/// A middleware of its own rather than an ASP.NET Core authentication scheme: the scheme's handler, its options, a claims
/// principal and the authorization policy's evaluation were built anew for every request, and took a tenth of a small
/// chat's CPU in the executable (docs/benchmarks.md, "Authentication without the framework's schemes"). Nothing on the
/// API reads <c>HttpContext.User</c>; the dashboard keeps its cookie scheme and policy.
/// </remarks>
internal sealed class ApiKeyAuthentication(AccessCache access, MasterKey masterKey, KeyUsageTracker usage, TimeProvider time)
{
    /// <summary>Null when the key is good (the caller is then on the request), else the reason to give the caller.</summary>
    internal async ValueTask<string?> AuthenticateAsync(HttpContext http)
    {
        var authorization = http.Request.Headers.Authorization.ToString();
        var (result, caller) = Verify(authorization);
        if (result == KeyCheck.Unknown && await access.CatchUpAsync(http.RequestAborted))
        {
            // A key minted a moment ago by another process (the CLI, another instance): look once more.
            (result, caller) = Verify(authorization);
        }

        if (caller is null)
        {
            http.Audit().Verdicts.Add($"API key refused: {KeyCheck.Reason(result)}");
            return result;
        }

        http.Features.Set(caller);
        http.Audit().SetCaller(caller);
        if (!caller.IsMaster)
        {
            usage.Record(caller.KeyId);
        }

        return null;
    }

    internal (string Message, Caller? Caller) Verify(string authorization)
    {
        const string bearer = "Bearer ";
        if (authorization.Length == 0)
        {
            return (KeyCheck.Missing, null);
        }

        if (authorization.Trim().Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return (KeyCheck.Missing, null); // "Bearer " with an empty key, trimmed by the HTTP stack
        }

        if (!authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase))
        {
            return (KeyCheck.NotBearer, null);
        }

        var presented = authorization.AsSpan(bearer.Length).Trim();
        if (presented.IsEmpty)
        {
            return (KeyCheck.Missing, null);
        }

        var hash = ApiKeys.Hash(presented);
        if (masterKey.Matches(hash))
        {
            return ("", new Caller(Caller.MasterUser, Caller.MasterKeyId));
        }

        if (!ApiKeys.IsWellFormed(presented))
        {
            return (KeyCheck.Malformed, null);
        }

        var snapshot = access.Current;
        var key = snapshot.FindKey(hash);
        if (key is null)
        {
            return (KeyCheck.Unknown, null);
        }

        if (key.RevokedAt is not null)
        {
            return (KeyCheck.Revoked, null);
        }

        if (key.ExpiresAt is { } expires && expires <= time.GetUtcNow().ToUnixTimeMilliseconds())
        {
            return (KeyCheck.Expired, null);
        }

        var user = snapshot.FindUser(key.UserId);
        if (user is null || user.DisabledAt is not null)
        {
            return (KeyCheck.UserDisabled, null);
        }

        return ("", new Caller(user, key.Id));
    }
}

/// <summary>Endpoint metadata: a request without a good API key is refused with 401 (see <see cref="ApiKeyAuthentication"/>).</summary>
internal sealed class ApiKeyRequired
{
    public static readonly ApiKeyRequired Instance = new();

    private ApiKeyRequired()
    {
    }
}

/// <summary>The caller-facing reasons a key is refused: precise enough to act on, never echoing the key.</summary>
internal static class KeyCheck
{
    public const string Missing = "You didn't provide an API key. Send it in the Authorization header as 'Bearer <key>'; create keys on your Profile page or with 'rampart keys create'.";
    public const string NotBearer = "The Authorization header must use the Bearer scheme: 'Authorization: Bearer <key>'.";
    public const string Malformed = "Incorrect API key provided: this is not a Rampart API key (they start with 'rmp_'). Check for a truncated or mistyped key.";
    public const string Unknown = "Incorrect API key provided. Check the key, or create a new one on your Profile page.";
    public const string Revoked = "This API key has been revoked. Create a new one on your Profile page.";
    public const string Expired = "This API key has expired. Create a new one on your Profile page.";
    public const string UserDisabled = "The account this API key belongs to is disabled.";

    /// <summary>The reason in one word, for the audit log.</summary>
    public static string Reason(string message) => message switch
    {
        Missing => "missing",
        NotBearer => "not_bearer",
        Malformed => "malformed",
        Unknown => "unknown",
        Revoked => "revoked",
        Expired => "expired",
        UserDisabled => "user_disabled",
        _ => "other",
    };
}

/// <summary><c>RAMPART_MASTER_KEY</c>: an org-admin key from configuration, compared in constant time by hash.</summary>
internal sealed class MasterKey
{
    private readonly string? _hash;

    public MasterKey(IConfiguration configuration)
    {
        var key = configuration["RAMPART_MASTER_KEY"];
        if (!string.IsNullOrWhiteSpace(key))
        {
            _hash = ApiKeys.Hash(key.Trim());
        }
    }

    public bool Matches(string presentedHash) => _hash is not null && ApiKeys.HashesEqual(_hash, presentedHash);
}

internal static class CallerExtensions
{
    /// <summary>Every endpoint of the group refuses requests without a good API key.</summary>
    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(ApiKeyRequired.Instance);

    /// <summary>
    /// Authenticates every request to the API (so that the audit log knows the caller, or why the key was refused),
    /// and refuses those to an endpoint that requires a key. The dashboard has its own cookie scheme; its pages never
    /// carry an API key.
    /// </summary>
    public static IApplicationBuilder UseApiKeyAuthentication(this IApplicationBuilder app)
    {
        var authentication = app.ApplicationServices.GetRequiredService<ApiKeyAuthentication>();
        return app.Use((http, next) =>
        {
            var endpoint = http.GetEndpoint();
            if (!Gateway.ApiPaths.IsApi(http.Request.Path) || endpoint?.Metadata.GetMetadata<IAllowAnonymous>() is not null)
            {
                return next(http);
            }

            // A key is checked without waiting (the snapshot is in memory) unless it is unknown and the snapshot catches
            // up: no async frame of our own around the rest of the request.
            var check = authentication.AuthenticateAsync(http);
            if (!check.IsCompletedSuccessfully)
            {
                return CheckedAsync(check, http, endpoint, next);
            }

            return check.Result is { } refused ? Refuse(refused, http, endpoint, next) : next(http);
        });

        static async Task CheckedAsync(ValueTask<string?> check, HttpContext http, Endpoint? endpoint, RequestDelegate next) =>
            await (await check is { } refused ? Refuse(refused, http, endpoint, next) : next(http));

        static Task Refuse(string refused, HttpContext http, Endpoint? endpoint, RequestDelegate next)
        {
            if (endpoint?.Metadata.GetMetadata<ApiKeyRequired>() is null)
            {
                return next(http); // no endpoint matched: the unknown URL's 404 follows, and the audit log has the reason
            }

            http.Response.Headers.WWWAuthenticate = "Bearer";
            return ApiError.InvalidApiKey(refused).WriteAsync(http);
        }
    }

    /// <summary>The authenticated caller; only valid on endpoints that require an API key.</summary>
    public static Caller GetCaller(this HttpContext http) =>
        http.Features.Get<Caller>() ?? throw new InvalidOperationException("No authenticated caller on this request.");
}
