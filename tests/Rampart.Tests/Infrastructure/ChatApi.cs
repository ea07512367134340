using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Rampart.Tests.Infrastructure;

/// <summary>Raw-HTTP helpers for chat completion tests: request bodies, and reading a server-sent event stream strictly.</summary>
internal static class ChatApi
{
    public const string Path = "api/v1/chat/completions";

    public static string NewMarker() => $"marker-{Guid.NewGuid():N}";

    /// <summary>A minimal request: one user message.</summary>
    public static JsonObject Request(string model, string userText, bool stream = false)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = userText }),
        };
        if (stream)
        {
            body["stream"] = true;
        }

        return body;
    }

    public static StringContent Content(JsonObject body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    public static Task<HttpResponseMessage> PostAsync(HttpClient http, JsonObject body, CancellationToken cancellationToken = default) =>
        http.PostAsync(Path, Content(body), cancellationToken);

    /// <summary>Sends a request and returns as soon as the headers are in, leaving the body to be read as it streams.</summary>
    public static Task<HttpResponseMessage> SendStreamingAsync(HttpClient http, JsonObject body, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Path) { Content = Content(body) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    /// <summary>
    /// The <c>data</c> payloads of an SSE body, asserting OpenAI's framing on the way: every event is exactly one
    /// <c>data: </c> line, events are separated by a blank line, and the body ends with a blank line.
    /// </summary>
    public static IReadOnlyList<string> SseData(string body)
    {
        Assert.EndsWith("\n\n", body, StringComparison.Ordinal);
        var events = body[..^2].Split("\n\n");
        foreach (var e in events)
        {
            Assert.StartsWith("data: ", e, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', e);
        }

        return [.. events.Select(e => e["data: ".Length..])];
    }

    /// <summary>The <c>error</c> object of an OpenAI error envelope, asserting it came as JSON.</summary>
    public static async Task<JsonNode> ErrorAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return json["error"]!;
    }

    public static string? Text(this JsonNode? node, string property) => node?[property]?.GetValue<string>();
}
