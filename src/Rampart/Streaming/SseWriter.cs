using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Rampart.OpenAI;
using Rampart.Operations;

namespace Rampart.Streaming;

/// <summary>
/// Writes OpenAI's server-sent events: one <c>data: {json}</c> event per chunk, flushed at once, then
/// <c>data: [DONE]</c>. One instance per response, reusing its JSON writer across chunks.
/// </summary>
/// <param name="metrics">Where open streams are counted, from <see cref="StartAsync"/> until <see cref="Dispose"/>.</param>
internal sealed class SseWriter(HttpResponse response, GatewayMetrics? metrics = null) : IDisposable
{
    // The writer's own options decide how strings are escaped, not the serializer's: without the wire encoder every
    // non-ASCII letter, quote and '<' went out \u-escaped (six bytes for a CJK character instead of three), unlike the
    // non-streamed answer.
    private readonly Utf8JsonWriter _json = new(response.BodyWriter, new JsonWriterOptions
    {
        SkipValidation = true,
        Encoder = OpenAIJson.Wire.Options.Encoder,
    });
    private GatewayMetrics? _metrics;

    /// <summary>Sends the status and headers now, so the client sees the stream open before the first token.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Counted open from here until Dispose, however the stream ends.
        _metrics = metrics;
        _metrics?.StreamOpened();
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        return response.StartAsync(cancellationToken);
    }

    /// <summary>One event: the provider's own JSON when the chunk is as it came, otherwise the chunk serialised.</summary>
    public ValueTask WriteAsync(ChatCompletionChunk chunk, CancellationToken cancellationToken)
    {
        response.BodyWriter.Write("data: "u8);
        if (chunk.Upstream is { IsEmpty: false } upstream)
        {
            response.BodyWriter.Write(upstream.Span);
        }
        else
        {
            _json.Reset(response.BodyWriter);
            JsonSerializer.Serialize(_json, chunk, OpenAIJson.Wire.ChatCompletionChunk);
            _json.Flush();
        }

        response.BodyWriter.Write("\n\n"u8);
        return FlushAsync(cancellationToken);
    }

    public ValueTask WriteDoneAsync(CancellationToken cancellationToken)
    {
        response.BodyWriter.Write("data: [DONE]\n\n"u8);
        return FlushAsync(cancellationToken);
    }

    /// <summary>
    /// An error after the stream began: OpenAI's envelope as one event, then the stream ends without <c>[DONE]</c>.
    /// The Python and JavaScript SDKs raise it; the .NET SDK (2.15) ignores it and sees a stream that just stops.
    /// </summary>
    public ValueTask WriteErrorAsync(ApiError error, CancellationToken cancellationToken)
    {
        response.BodyWriter.Write("data: "u8);
        _json.Reset(response.BodyWriter);
        JsonSerializer.Serialize(_json, error.ToEnvelope(), OpenAIJson.Wire.OpenAIErrorEnvelope);
        _json.Flush();
        response.BodyWriter.Write("\n\n"u8);
        return FlushAsync(cancellationToken);
    }

    public void Dispose()
    {
        _json.Dispose();
        _metrics?.StreamClosed();
        _metrics = null;
    }

    private async ValueTask FlushAsync(CancellationToken cancellationToken) => await response.BodyWriter.FlushAsync(cancellationToken);
}
