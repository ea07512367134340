using System.Net;

namespace Rampart.MockUpstream;

/// <summary>
/// The least a gateway can do: copy the caller's body to the upstream and the upstream's status, content type and body
/// back, streamed, with a pooled keep-alive client and nothing else (no parsing, no checks, no audit).
/// </summary>
internal sealed class PassThrough(Uri upstream)
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false, UseProxy = false })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public async Task HandleAsync(HttpContext context)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(upstream, "chat/completions"))
        {
            Content = new StreamContent(context.Request.Body),
            Version = HttpVersion.Version11,
        };
        request.Content.Headers.ContentType = new("application/json");
        if (context.Request.Headers.Authorization is { Count: > 0 } authorization)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization.ToString());
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
        if (response.Content.Headers.ContentLength is { } length)
        {
            context.Response.ContentLength = length;
        }

        await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
        await body.CopyToAsync(context.Response.Body, context.RequestAborted);
    }
}
