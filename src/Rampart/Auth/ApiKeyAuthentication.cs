using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Rampart.Audit;
using Rampart.OpenAI;

namespace Rampart.Auth;

/// <summary>
/// Bearer API keys for <c>/api/v1</c>. Verification is a SHA-256 and a dictionary lookup in the access snapshot;
/// the outcome is a <see cref="Caller"/> on the request, and a failure is answered in OpenAI's error envelope.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    AccessCache access,
    MasterKey masterKey,
    KeyUsageTracker usage,
    TimeProvider time)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Gateway.ApiPaths.IsApi(Request.Path))
        {
            // The dashboard has its own cookie scheme; its pages never carry an API key.
            return AuthenticateResult.NoResult();
        }

        var authorization = Request.Headers.Authorization.ToString();
        var (result, caller) = Verify(authorization);
        if (result == KeyCheck.Unknown && await access.CatchUpAsync(Context.RequestAborted))
        {
            // A key minted a moment ago by another process (the CLI, another instance): look once more.
            (result, caller) = Verify(authorization);
        }

        if (caller is null)
        {
            Context.Audit().Verdicts.Add($"API key refused: {KeyCheck.Reason(result)}");
            Context.Features.Set(new AuthFailure(result));
            return AuthenticateResult.Fail(result);
        }

        Context.Features.Set(caller);
        Context.Audit().SetCaller(caller);
        if (!caller.IsMaster)
        {
            usage.Record(caller.KeyId);
        }

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, caller.User.Id), new Claim(ClaimTypes.Role, caller.User.OrgRole)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var reason = Context.Features.Get<AuthFailure>()?.Message ?? KeyCheck.Missing;
        Response.Headers.WWWAuthenticate = "Bearer";
        return ApiError.InvalidApiKey(reason).WriteAsync(Context);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiError.PermissionDenied("Your API key does not have the role this endpoint requires.").WriteAsync(Context);

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

    private sealed record AuthFailure(string Message);
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
    private readonly byte[]? _hash;

    public MasterKey(IConfiguration configuration)
    {
        var key = configuration["RAMPART_MASTER_KEY"];
        if (!string.IsNullOrWhiteSpace(key))
        {
            _hash = Encoding.ASCII.GetBytes(ApiKeys.Hash(key.Trim()));
        }
    }

    public bool Matches(string presentedHash) =>
        _hash is not null && CryptographicOperations.FixedTimeEquals(_hash, Encoding.ASCII.GetBytes(presentedHash));
}

internal static class CallerExtensions
{
    /// <summary>The authenticated caller; only valid on endpoints that require authorization.</summary>
    public static Caller GetCaller(this HttpContext http) =>
        http.Features.Get<Caller>() ?? throw new InvalidOperationException("No authenticated caller on this request.");
}
