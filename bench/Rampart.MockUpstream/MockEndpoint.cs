using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;

namespace Rampart.MockUpstream;

internal static class MockEndpoint
{
    public static async Task HandleAsync(HttpContext http, MockOptions options, MockAnswers answers)
    {
        var cancellationToken = http.RequestAborted;
        var stream = await ReadStreamFlagAsync(http.Request.BodyReader, cancellationToken);
        if (stream is null)
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync("""{"error":{"message":"The mock wants a JSON object body.","type":"invalid_request_error","param":null,"code":"invalid_json"}}""", cancellationToken);
            return;
        }

        if (options.LatencyMs > 0)
        {
            await Task.Delay(options.LatencyMs, cancellationToken);
        }

        var response = http.Response;
        if (stream is false)
        {
            response.ContentType = "application/json";
            response.ContentLength = answers.Completion.Length;
            await response.Body.WriteAsync(answers.Completion, cancellationToken);
            return;
        }

        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        await response.Body.WriteAsync(answers.FirstChunk, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);

        // Chunk i is due i × chunk-delay after the first, so that timer granularity (a few ms here) delays a chunk
        // without adding up over the stream: the whole stream takes the same time each time, give or take one tick.
        var due = TimeSpan.Zero;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var chunk in answers.Chunks)
        {
            due += TimeSpan.FromMilliseconds(options.ChunkDelayMs);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed, cancellationToken);
            }

            await response.Body.WriteAsync(chunk, cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }

        await response.Body.WriteAsync(answers.Tail, cancellationToken);
    }

    /// <summary>Reads the whole body and returns its top-level <c>stream</c> flag, or null when it is not a JSON object.</summary>
    private static async Task<bool?> ReadStreamFlagAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            if (result.IsCompleted)
            {
                var flag = StreamFlag(result.Buffer);
                reader.AdvanceTo(result.Buffer.End);
                return flag;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private static bool? StreamFlag(ReadOnlySequence<byte> body)
    {
        try
        {
            var json = new Utf8JsonReader(body);
            if (!json.Read() || json.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            var stream = false;
            while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
            {
                var isStream = json.CurrentDepth == 1 && json.ValueTextEquals("stream"u8);
                json.Read();
                if (isStream)
                {
                    stream = json.TokenType == JsonTokenType.True;
                }
                else
                {
                    json.Skip();
                }
            }

            return stream;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
