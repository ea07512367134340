using System.Net;

namespace Rampart.Providers;

/// <summary>
/// Asks every provider for HTTP/2: over TLS it is negotiated (ALPN) and falls back to HTTP/1.1 when the server
/// declines, so many concurrent streams to one provider share a few connections instead of a socket each. Over
/// plain http (a local model server) HTTP/2 needs prior knowledge, which only <c>Rampart:Upstream:CleartextHttp2</c>
/// turns on, for servers known to speak it (h2c).
/// </summary>
internal sealed class UpstreamHttpVersion(bool cleartextHttp2) : DelegatingHandler
{
    public const string Setting = "Rampart:Upstream:CleartextHttp2";

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Version = HttpVersion.Version20;
        request.VersionPolicy = cleartextHttp2 && request.RequestUri?.Scheme == Uri.UriSchemeHttp
            ? HttpVersionPolicy.RequestVersionExact
            : HttpVersionPolicy.RequestVersionOrLower;
        return base.SendAsync(request, cancellationToken);
    }
}
