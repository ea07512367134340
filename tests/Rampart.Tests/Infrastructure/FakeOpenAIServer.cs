using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Rampart.Tests.Infrastructure;

/// <summary>
/// A real HTTP server on loopback that speaks OpenAI's chat completions wire format, used as the gateway's upstream.
/// The requested <c>model</c> picks the behaviour (see <see cref="Models"/>); every request it receives is recorded.
/// Streams are written in pieces of 1-7 bytes with a flush after each, so events, JSON and multi-byte UTF-8
/// characters arrive split at odd boundaries.
/// </summary>
public sealed class FakeOpenAIServer : IAsyncDisposable
{
    public static class Models
    {
        public const string Echo = "fake-echo";
        public const string BadRequest = "fake-400";
        public const string RateLimited = "fake-429";
        public const string ServerError = "fake-500";
        public const string Unauthorized = "fake-401";
        public const string Hang = "fake-hang";
        public const string Reset = "fake-reset";
        public const string StreamThenReset = "fake-stream-reset";
        public const string StreamThenStall = "fake-stream-stall";
        /// <summary>Streams the pieces over and over, one event every 100 ms, for over a minute: long enough to be cut off.</summary>
        public const string SlowStream = "fake-slow-stream";
        public const string Garbage = "fake-garbage";

        /// <summary>A non-streamed answer that starts and never ends: 1 GB of one string, then a wait for the abort.</summary>
        public const string HugeAnswer = "fake-huge-answer";
        public const string StreamError = "fake-stream-error";

        /// <summary>Three events, then one that never ends: 17 MB of a single <c>data:</c> line, then a wait for the abort.</summary>
        public const string StreamEndlessEvent = "fake-stream-endless-event";

        /// <summary><c>fake-flaky-N</c>: the first N requests with the same last user message fail with 500, then it answers.</summary>
        public const string FlakyPrefix = "fake-flaky-";

        /// <summary>The first request with a given last user message gets 429 with <c>Retry-After: 1</c>, the next one an answer.</summary>
        public const string RateLimitedOnce = "fake-429-once";

        /// <summary>Answers with the last user message, as it arrived, in deltas of 1-3 characters (all <c>n</c> choices interleaved).</summary>
        public const string EchoUser = "fake-echo-user";

        /// <summary>Answers with a tool call whose arguments carry the last user message, streamed in 1-3 character pieces.</summary>
        public const string ToolEcho = "fake-tool-echo";

        /// <summary>DeepSeek-reasoner style: <c>reasoning_content</c> first (message field and stream deltas), then the answer.</summary>
        public const string Reasoner = "fake-reasoner";

        /// <summary>Answers with text that leaks <see cref="LeakedToken"/> and <see cref="LeakedEmail"/>.</summary>
        public const string Leak = "fake-leak";

        /// <summary>Leaks its system prompt: answers with the first system message, streamed in 1-3 character pieces.</summary>
        public const string EchoSystem = "fake-echo-system";

        /// <summary>
        /// A topic judge: reads the numbered topics (<c>1. legal advice</c>) from the system message and answers
        /// <c>BLOCK: n</c> when the user message contains topic n's words, otherwise <c>ALLOW</c>.
        /// </summary>
        public const string Judge = "fake-judge";

        /// <summary>
        /// A model that searches (streamed or not): offered a <c>web_search</c> tool and no tool result yet, it calls the
        /// tool with the last user message as query (<c>leak-secret</c> in it: a query carrying <see cref="LeakedToken"/>;
        /// <c>leak-email</c>: one carrying <see cref="LeakedEmail"/>; <c>caller-tool</c>: the caller's first tool is called
        /// too). It searches again (query <c>round N …</c>) after one result with <c>search-twice</c>, and always with
        /// <c>search-forever</c>. Given a tool result, it answers <see cref="SearchAnswer"/> citing the first URL in it, or quoting the
        /// result when it has none. Offered no search tool, it answers <see cref="NoSearchAnswer"/> — or, when the gateway put
        /// search results in the conversation itself (the search-first fallback), <see cref="SearchAnswer"/> citing their first URL.
        /// With <c>n</c> &gt; 1 and no tool result, choice 0 answers <see cref="NoSearchAnswer"/> at once and every other
        /// choice i searches <c>choice{i} &lt;last user message&gt;</c>.
        /// </summary>
        public const string Searcher = "fake-searcher";

        /// <summary>
        /// JSON as Python's <c>json.dumps</c> writes it (a space after every separator, non-ASCII as <c>\u</c> escapes),
        /// answering <see cref="PythonAnswerText"/>, with <see cref="LeakText"/> after it when the last user message
        /// contains <c>leak</c>. Streamed, one event's JSON is pretty-printed over several <c>data:</c> lines (valid SSE).
        /// </summary>
        public const string Python = "fake-python";
    }

    public const string PythonAnswerText = "Un café, s'il vous plaît.";

    /// <summary>The exact bytes of the last answers <see cref="Models.Python"/> sent: the body, or each event's data.</summary>
    public static readonly ConcurrentDictionary<string, IReadOnlyList<string>> PythonSent = new();

    public const string SearchAnswer = "According to [1]";

    public const string NoSearchAnswer = "I answer without searching.";

    /// <summary>The streamed answer's pieces: ASCII, accents, an emoji (4 UTF-8 bytes) and a CJK character.</summary>
    public static readonly string[] StreamPieces = ["Grüße", " aus", " dem", " Upstream", " 🌍", " — ", "完"];

    public const string CompletionText = "Hello from the fake upstream.";

    /// <summary>A GitHub-format token generated per run: worthless, but a secret scanner must treat it as real.</summary>
    public static readonly string LeakedToken = "ghp_" + System.Security.Cryptography.RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36);

    public const string LeakedEmail = "leaked.person@corp.example";

    public static string LeakText => $"Sure. The deploy token is {LeakedToken} and the owner is {LeakedEmail}, call +44 20 7946 0958 if stuck.";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _aborted = new();
    private readonly ConcurrentDictionary<(string Model, string Marker), int> _calls = new();

    private FakeOpenAIServer(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    public IReadOnlyCollection<RecordedRequest> Requests => _requests;

    public static async Task<FakeOpenAIServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeOpenAIServer(app);
        app.MapPost("/v1/chat/completions", http => server.HandleAsync(http, null));
        app.MapPost("/openai/deployments/{deployment}/chat/completions", server.HandleAzureAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = address + "/v1";
        return server;
    }

    /// <summary>How many requests for <paramref name="model"/> carried <paramref name="marker"/> as the last user message.</summary>
    public int Calls(string model, string marker) => _calls.GetValueOrDefault((model, marker));

    /// <summary>
    /// Completes once a request for <paramref name="model"/> with <paramref name="marker"/> has arrived here. A caller
    /// that is to give up mid-call waits for this rather than a fixed delay, which a busy machine or a cold gateway can
    /// spend before the call even gets here.
    /// </summary>
    public Task CalledAsync(string model, string marker) =>
        Eventually.WaitUntilAsync(() => Calls(model, marker) > 0, $"no call for {model} with the marker reached the fake upstream");

    /// <summary>The one recorded request whose messages contain <paramref name="marker"/>.</summary>
    public RecordedRequest RequestWith(string marker) => Assert.Single(_requests, r => r.Body.Contains(marker, StringComparison.Ordinal));

    /// <summary>Completes when the upstream request whose messages contain <paramref name="marker"/> is aborted by the gateway.</summary>
    public Task AbortedAsync(string marker) => _aborted.GetOrAdd(marker, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    /// <summary>Azure OpenAI's shape: the deployment in the path, <c>api-version</c> required, the key in <c>api-key</c>.</summary>
    private async Task HandleAzureAsync(HttpContext http)
    {
        if (string.IsNullOrEmpty(http.Request.Query["api-version"]))
        {
            await WriteErrorAsync(http, 404, "Resource not found", "invalid_request_error", null, "404");
            return;
        }

        if (string.IsNullOrEmpty(http.Request.Headers["api-key"]))
        {
            await WriteErrorAsync(http, 401, "Access denied due to invalid subscription key or wrong API endpoint.", "invalid_request_error", null, "401");
            return;
        }

        await HandleAsync(http, (string)http.Request.RouteValues["deployment"]!);
    }

    private async Task HandleAsync(HttpContext http, string? deployment)
    {
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        var body = JsonNode.Parse(text)!.AsObject();
        _requests.Enqueue(new RecordedRequest(http.Request.Headers.Authorization.ToString(), http.Request.ContentType, text, body)
        {
            PathAndQuery = http.Request.Path + http.Request.QueryString,
            ApiKey = http.Request.Headers["api-key"].ToString(),
        });
        var model = deployment ?? body["model"]?.GetValue<string>() ?? "";
        var stream = body["stream"]?.GetValue<bool>() == true;
        var includeUsage = body["stream_options"]?["include_usage"]?.GetValue<bool>() == true;
        var marker = LastUserText(body);

        var call = _calls.AddOrUpdate((model, marker), 1, static (_, n) => n + 1);
        if (model.StartsWith(Models.FlakyPrefix, StringComparison.Ordinal) && call <= int.Parse(model[Models.FlakyPrefix.Length..], System.Globalization.CultureInfo.InvariantCulture))
        {
            await WriteErrorAsync(http, 500, $"Flaky failure {call}.", "server_error", null, null);
            return;
        }

        if (model == Models.RateLimitedOnce && call == 1)
        {
            http.Response.Headers.RetryAfter = "1";
            await WriteErrorAsync(http, 429, "Rate limit reached, retry after 1s.", "requests", null, "rate_limit_exceeded");
            return;
        }

        switch (model)
        {
            case Models.BadRequest:
                await WriteErrorAsync(http, 400, "Invalid 'messages[0].content': string too long.", "invalid_request_error", "messages[0].content", "string_above_max_length");
                return;
            case Models.RateLimited:
                http.Response.Headers.RetryAfter = "7";
                await WriteErrorAsync(http, 429, "Rate limit reached for requests.", "requests", null, "rate_limit_exceeded");
                return;
            case Models.ServerError:
                await WriteErrorAsync(http, 500, "The server had an error while processing your request.", "server_error", null, null);
                return;
            case Models.Unauthorized:
                await WriteErrorAsync(http, 401, "Incorrect API key provided: sk-fake.", "invalid_request_error", null, "invalid_api_key");
                return;
            case Models.Hang:
                await WaitForAbortAsync(http, marker);
                return;
            case Models.Reset:
                http.Abort();
                return;
            case Models.HugeAnswer:
                http.Response.ContentType = "application/json";
                await WriteEndlessAsync(http, marker,
                    "{\"id\":\"chatcmpl-huge\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"fake-huge-answer\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"",
                    1024L * 1024 * 1024);
                return;
            case Models.Garbage:
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync("<html>upstream proxy error</html>");
                return;
            case Models.Reasoner:
                await WriteReasonerAsync(http, stream);
                return;
            case Models.EchoUser or Models.ToolEcho or Models.Leak:
                await WriteScriptedAsync(http, model, model == Models.Leak ? LeakText : marker, body["n"]?.GetValue<int>() ?? 1, stream, includeUsage);
                return;
            case Models.EchoSystem:
                await WriteScriptedAsync(http, model, FirstSystemText(body), 1, stream, includeUsage);
                return;
            case Models.Searcher:
                await WriteSearcherAsync(http, body, marker);
                return;
            case Models.Python:
                await WritePythonAsync(http, marker, marker.Contains("leak", StringComparison.Ordinal) ? PythonAnswerText + " " + LeakText : PythonAnswerText, stream);
                return;
            case Models.Judge:
                await WriteScriptedAsync(http, model, JudgeVerdict(FirstSystemText(body), marker), 1, stream: false, includeUsage: false);
                return;
        }

        if (!stream)
        {
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(Completion(model).ToJsonString());
            return;
        }

        http.Response.ContentType = "text/event-stream";
        await http.Response.StartAsync();
        var random = new Random(marker.Length);
        var chunks = StreamChunks(model, includeUsage).ToList();
        for (var i = 0; i < chunks.Count; i++)
        {
            if (model == Models.StreamThenReset && i == 3)
            {
                // Abort drops whatever Kestrel has not yet handed to the socket; give the events sent so far time to leave.
                await Task.Delay(200);
                http.Abort();
                return;
            }

            if (model == Models.StreamError && i == 3)
            {
                await WriteSplitAsync(http, "data: {\"error\":{\"message\":\"The model overloaded mid-stream.\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n", random);
                return;
            }

            if (model == Models.StreamEndlessEvent && i == 3)
            {
                await WriteEndlessAsync(http, marker, "data: {\"id\":\"", 17 * 1024 * 1024);
                return;
            }

            if (model == Models.StreamThenStall && i == 3)
            {
                await WaitForAbortAsync(http, marker);
                return;
            }

            if (model == Models.SlowStream && i >= 2)
            {
                try
                {
                    await Task.Delay(100, http.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    Aborted(marker);
                    return;
                }
            }

            // Alternate LF and CRLF line endings: both are valid SSE.
            var newline = i % 2 == 0 ? "\n" : "\r\n";
            await WriteSplitAsync(http, "data: " + chunks[i] + newline + newline, random);
        }

        await WriteSplitAsync(http, "data: [DONE]\n\n", random);
    }

    /// <summary>
    /// A scripted answer: <paramref name="text"/> as content (or, for <see cref="Models.ToolEcho"/>, inside a tool
    /// call's arguments). Streamed, it arrives in 1-3 character deltas with the choices interleaved.
    /// </summary>
    private static async Task WriteScriptedAsync(HttpContext http, string model, string text, int n, bool stream, bool includeUsage)
    {
        var tool = model == Models.ToolEcho;
        var arguments = new JsonObject { ["text"] = text }.ToJsonString();
        if (!stream)
        {
            var choices = new JsonArray();
            for (var i = 0; i < n; i++)
            {
                var message = tool
                    ? new JsonObject
                    {
                        ["role"] = "assistant",
                        ["content"] = null,
                        ["tool_calls"] = new JsonArray(new JsonObject { ["id"] = "call_echo", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "send", ["arguments"] = arguments } }),
                    }
                    : new JsonObject { ["role"] = "assistant", ["content"] = text };
                choices.Add(new JsonObject { ["index"] = i, ["message"] = message, ["finish_reason"] = tool ? "tool_calls" : "stop" });
            }

            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(new JsonObject
            {
                ["id"] = "chatcmpl-script", ["object"] = "chat.completion", ["created"] = 1_700_000_000, ["model"] = model, ["choices"] = choices,
                ["usage"] = new JsonObject { ["prompt_tokens"] = 5, ["completion_tokens"] = 5, ["total_tokens"] = 10 },
            }.ToJsonString());
            return;
        }

        http.Response.ContentType = "text/event-stream";
        await http.Response.StartAsync();
        var random = new Random(text.Length);
        async Task Event(int index, JsonObject delta, string? finish)
        {
            var chunk = new JsonObject
            {
                ["id"] = "chatcmpl-script", ["object"] = "chat.completion.chunk", ["created"] = 1_700_000_000, ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject { ["index"] = index, ["delta"] = delta, ["finish_reason"] = finish }),
            };
            await WriteSplitAsync(http, "data: " + chunk.ToJsonString() + "\n\n", random);
        }

        for (var i = 0; i < n; i++)
        {
            await Event(i, tool
                ? new JsonObject
                {
                    ["role"] = "assistant",
                    ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = 0, ["id"] = "call_echo", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "send", ["arguments"] = "" } }),
                }
                : new JsonObject { ["role"] = "assistant", ["content"] = "" }, null);
        }

        var source = tool ? arguments : text;
        for (var position = 0; position < source.Length;)
        {
            var size = Math.Min(random.Next(1, 4), source.Length - position);
            var piece = source.Substring(position, size);
            for (var i = 0; i < n; i++)
            {
                await Event(i, tool
                    ? new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = 0, ["function"] = new JsonObject { ["arguments"] = piece } }) }
                    : new JsonObject { ["content"] = piece }, null);
            }

            position += size;
        }

        for (var i = 0; i < n; i++)
        {
            await Event(i, new JsonObject(), tool ? "tool_calls" : "stop");
        }

        if (includeUsage)
        {
            await WriteSplitAsync(http, "data: " + new JsonObject
            {
                ["id"] = "chatcmpl-script", ["object"] = "chat.completion.chunk", ["created"] = 1_700_000_000, ["model"] = model, ["choices"] = new JsonArray(),
                ["usage"] = new JsonObject { ["prompt_tokens"] = 5, ["completion_tokens"] = 5, ["total_tokens"] = 10 },
            }.ToJsonString() + "\n\n", random);
        }

        await WriteSplitAsync(http, "data: [DONE]\n\n", random);
    }

    public const string ReasoningText = "The user greets me; a short friendly reply fits.";

    private static async Task WriteReasonerAsync(HttpContext http, bool stream)
    {
        if (!stream)
        {
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(new JsonObject
            {
                ["id"] = "chatcmpl-reason", ["object"] = "chat.completion", ["created"] = 1_700_000_000, ["model"] = "deepseek-reasoner",
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = CompletionText, ["reasoning_content"] = ReasoningText },
                    ["finish_reason"] = "stop",
                }),
                ["usage"] = new JsonObject
                {
                    ["prompt_tokens"] = 10, ["completion_tokens"] = 20, ["total_tokens"] = 30,
                    ["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 12 },
                },
            }.ToJsonString());
            return;
        }

        http.Response.ContentType = "text/event-stream";
        await http.Response.StartAsync();
        var random = new Random(5);
        async Task Delta(JsonObject delta, string? finish = null) => await WriteSplitAsync(http, "data: " + new JsonObject
        {
            ["id"] = "chatcmpl-reason", ["object"] = "chat.completion.chunk", ["created"] = 1_700_000_000, ["model"] = "deepseek-reasoner",
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
        }.ToJsonString() + "\n\n", random);

        await Delta(new JsonObject { ["role"] = "assistant", ["content"] = null, ["reasoning_content"] = "" });
        foreach (var word in ReasoningText.Split(' '))
        {
            await Delta(new JsonObject { ["content"] = null, ["reasoning_content"] = word + " " });
        }

        await Delta(new JsonObject { ["content"] = CompletionText, ["reasoning_content"] = null });
        await Delta(new JsonObject(), "stop");
        await WriteSplitAsync(http, "data: [DONE]\n\n", random);
    }

    /// <summary><paramref name="start"/>, then <paramref name="bytes"/> of one long string, and no end: waits for the reader to give up.</summary>
    private async Task WriteEndlessAsync(HttpContext http, string marker, string start, long bytes)
    {
        await http.Response.WriteAsync(start);
        var piece = new string('a', 64 * 1024);
        try
        {
            for (var sent = 0L; sent < bytes; sent += piece.Length)
            {
                await http.Response.WriteAsync(piece, http.RequestAborted);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            Aborted(marker);
            return;
        }

        // Writes to a connection the reader has closed may be discarded before the abort is noticed.
        await WaitForAbortAsync(http, marker);
    }

    private async Task WaitForAbortAsync(HttpContext http, string marker)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, http.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            Aborted(marker);
        }
    }

    private void Aborted(string marker) =>
        _aborted.GetOrAdd(marker, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private static async Task WritePythonAsync(HttpContext http, string marker, string text, bool stream)
    {
        // The default encoder already writes non-ASCII as \u escapes; Python also puts a space after every separator.
        static string Dumps(JsonNode? node) => node switch
        {
            JsonObject o => "{" + string.Join(", ", o.Select(p => JsonValue.Create(p.Key).ToJsonString() + ": " + Dumps(p.Value))) + "}",
            JsonArray a => "[" + string.Join(", ", a.Select(Dumps)) + "]",
            null => "null",
            _ => node.ToJsonString(),
        };
        JsonObject Chunk(JsonObject delta, string? finish) => new()
        {
            ["id"] = "chatcmpl-py", ["object"] = "chat.completion.chunk", ["created"] = 1_700_000_000, ["model"] = Models.Python,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
        };

        if (!stream)
        {
            var body = Dumps(new JsonObject
            {
                ["id"] = "chatcmpl-py", ["object"] = "chat.completion", ["created"] = 1_700_000_000, ["model"] = Models.Python,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text }, ["finish_reason"] = "stop",
                }),
                ["usage"] = new JsonObject { ["prompt_tokens"] = 5, ["completion_tokens"] = 6, ["total_tokens"] = 11 },
            });
            PythonSent[marker] = [body];
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(body);
            return;
        }

        var events = new List<string> { Dumps(Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null)) };
        events.AddRange(text.Chunk(4).Select(piece => Dumps(Chunk(new JsonObject { ["content"] = new string(piece) }, null))));
        // Pretty-printed: its data arrives over several lines, which the gateway may not pass on as they are.
        events.Add(Chunk(new JsonObject(), "stop").ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        PythonSent[marker] = events;
        http.Response.ContentType = "text/event-stream";
        foreach (var data in events)
        {
            await http.Response.WriteAsync(string.Concat(data.Split('\n').Select(line => "data: " + line + "\n")) + "\n");
        }

        await http.Response.WriteAsync("data: [DONE]\n\n");
    }

    private static async Task WriteSplitAsync(HttpContext http, string text, Random random)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        for (var offset = 0; offset < bytes.Length;)
        {
            var size = Math.Min(random.Next(1, 8), bytes.Length - offset);
            await http.Response.Body.WriteAsync(bytes.AsMemory(offset, size));
            await http.Response.Body.FlushAsync();
            offset += size;
        }
    }

    private static JsonObject Completion(string model) => new()
    {
        ["id"] = "chatcmpl-fake123",
        ["object"] = "chat.completion",
        ["created"] = 1_700_000_000,
        ["model"] = model + "-2024-08-06",
        ["system_fingerprint"] = "fp_fake",
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = CompletionText, ["refusal"] = null },
            ["logprobs"] = null,
            ["finish_reason"] = "stop",
        }),
        ["usage"] = new JsonObject
        {
            ["prompt_tokens"] = 11,
            ["completion_tokens"] = 7,
            ["total_tokens"] = 18,
            ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = 3 },
        },
    };

    private static IEnumerable<string> StreamChunks(string model, bool includeUsage)
    {
        JsonObject Chunk(JsonObject delta, string? finish)
        {
            var chunk = new JsonObject
            {
                ["id"] = "chatcmpl-fakestream",
                ["object"] = "chat.completion.chunk",
                ["created"] = 1_700_000_000,
                ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish }),
            };
            if (includeUsage)
            {
                // OpenAI sends an explicit null usage on every chunk but the last when usage was asked for.
                chunk["usage"] = null;
            }

            return chunk;
        }

        yield return Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null).ToJsonString();
        var pieces = model == Models.SlowStream ? Enumerable.Repeat(StreamPieces, 100).SelectMany(p => p) : StreamPieces;
        foreach (var piece in pieces)
        {
            yield return Chunk(new JsonObject { ["content"] = piece }, null).ToJsonString();
        }

        yield return Chunk(new JsonObject(), "stop").ToJsonString();
        if (includeUsage)
        {
            yield return new JsonObject
            {
                ["id"] = "chatcmpl-fakestream",
                ["object"] = "chat.completion.chunk",
                ["created"] = 1_700_000_000,
                ["model"] = model,
                ["choices"] = new JsonArray(),
                ["usage"] = new JsonObject { ["prompt_tokens"] = 9, ["completion_tokens"] = StreamPieces.Length, ["total_tokens"] = 9 + StreamPieces.Length },
            }.ToJsonString();
        }
    }

    private static string FirstSystemText(JsonObject body) =>
        body["messages"]?.AsArray().FirstOrDefault(m => m?["role"]?.GetValue<string>() == "system")?["content"]?.GetValue<string>() ?? "";

    private static string JudgeVerdict(string instructions, string text)
    {
        foreach (var line in instructions.Split('\n'))
        {
            var dot = line.IndexOf(". ", StringComparison.Ordinal);
            if (dot > 0 && line[..dot].All(char.IsAsciiDigit) && text.Contains(line[(dot + 2)..].Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return $"BLOCK: {line[..dot]}";
            }
        }

        return "ALLOW";
    }

    private static async Task WriteSearcherAsync(HttpContext http, JsonObject body, string userText)
    {
        var toolResults = body["messages"]!.AsArray().Where(m => m?["role"]?.GetValue<string>() == "tool").ToList();
        var toolResult = toolResults.LastOrDefault()?["content"]?.GetValue<string>();
        var tools = body["tools"]?.AsArray().Select(t => t?["function"]?["name"]?.GetValue<string>()).ToList() ?? [];
        var searchAgain = userText.Contains("search-forever", StringComparison.Ordinal) || (userText.Contains("search-twice", StringComparison.Ordinal) && toolResults.Count < 2);
        var n = body["n"]?.GetValue<int>() ?? 1;
        var messages = new List<JsonObject>();
        for (var choice = 0; choice < n; choice++)
        {
            messages.Add(SearcherMessage(body, userText, toolResults.Count, toolResult, tools, searchAgain, choice, n));
        }

        if (body["stream"]?.GetValue<bool>() == true)
        {
            await StreamSearcherAsync(http, messages, body["stream_options"]?["include_usage"]?.GetValue<bool>() == true);
            return;
        }

        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(new JsonObject
        {
            ["id"] = "chatcmpl-search", ["object"] = "chat.completion", ["created"] = 1_700_000_000, ["model"] = Models.Searcher,
            ["choices"] = new JsonArray([.. messages.Select((message, i) => new JsonObject { ["index"] = i, ["message"] = message, ["finish_reason"] = message["tool_calls"] is null ? "stop" : "tool_calls" })]),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 5, ["completion_tokens"] = 5, ["total_tokens"] = 10 },
        }.ToJsonString());
    }

    /// <summary>One choice of the searcher (see <see cref="Models.Searcher"/>); with n &gt; 1, choice 0 answers at once and choice i searches <c>choice{i} …</c>.</summary>
    private static JsonObject SearcherMessage(JsonObject body, string userText, int rounds, string? toolResult, List<string?> tools, bool searchAgain, int choice, int n)
    {
        if (toolResult is not null && !searchAgain)
        {
            var url = FirstUrl(toolResult);
            return new JsonObject { ["role"] = "assistant", ["content"] = url is null ? "No sources: " + toolResult : $"{SearchAnswer} ({url}) the answer is 42." };
        }

        if (!tools.Contains("web_search"))
        {
            // The search-first fallback: results the gateway put in the conversation, cited like a tool result.
            var context = body["messages"]!.AsArray().Select(m => m?["content"] is JsonValue v ? v.GetValue<string>() : null)
                .FirstOrDefault(c => c?.Contains("the gateway searched the web", StringComparison.Ordinal) == true);
            return new JsonObject
            {
                ["role"] = "assistant",
                ["content"] = context is null ? NoSearchAnswer : FirstUrl(context) is { } cited ? $"{SearchAnswer} ({cited}) the answer is 42." : "No sources: " + context,
            };
        }

        if (n > 1 && choice == 0)
        {
            return new JsonObject { ["role"] = "assistant", ["content"] = NoSearchAnswer };
        }

        var query = n > 1 ? $"choice{choice} {userText}"
            : rounds > 0 ? $"round {rounds + 1} {userText}"
            : userText.Contains("leak-secret", StringComparison.Ordinal) ? "deploy " + LeakedToken
            : userText.Contains("leak-email", StringComparison.Ordinal) ? "who is " + LeakedEmail
            : userText;
        var calls = new JsonArray();
        if (userText.Contains("caller-tool", StringComparison.Ordinal) && tools.FirstOrDefault(t => t != "web_search") is { } callerTool)
        {
            calls.Add(new JsonObject { ["id"] = "call_caller", ["type"] = "function", ["function"] = new JsonObject { ["name"] = callerTool, ["arguments"] = "{}" } });
        }

        calls.Add(new JsonObject
        {
            ["id"] = "call_search", ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = "web_search", ["arguments"] = new JsonObject { ["query"] = query }.ToJsonString() },
        });
        return new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = calls };
    }

    private static string? FirstUrl(string results) =>
        results.Split('\n').FirstOrDefault(l => l.StartsWith("URL: ", StringComparison.Ordinal))?["URL: ".Length..];

    /// <summary>
    /// The searcher's messages as one stream, the choices interleaved: content in 1-3 character deltas; each tool call's id
    /// and name, then its arguments in pieces.
    /// </summary>
    private static async Task StreamSearcherAsync(HttpContext http, List<JsonObject> messages, bool includeUsage)
    {
        http.Response.ContentType = "text/event-stream";
        await http.Response.StartAsync();
        var random = new Random(7);
        async Task Event(int index, JsonObject? delta, string? finish, JsonObject? usage = null)
        {
            var chunk = new JsonObject
            {
                ["id"] = "chatcmpl-search", ["object"] = "chat.completion.chunk", ["created"] = 1_700_000_000, ["model"] = Models.Searcher,
                ["choices"] = delta is null ? new JsonArray() : new JsonArray(new JsonObject { ["index"] = index, ["delta"] = delta, ["finish_reason"] = finish }),
            };
            if (usage is not null)
            {
                chunk["usage"] = usage;
            }

            await WriteSplitAsync(http, "data: " + chunk.ToJsonString() + "\n\n", random);
        }

        // Each choice's deltas, in order; then the choices take turns, one delta each.
        var deltas = messages.Select(message =>
        {
            var list = new List<JsonObject> { new() { ["role"] = "assistant", ["content"] = "" } };
            var content = message["content"]?.GetValue<string>() ?? "";
            for (var i = 0; i < content.Length;)
            {
                var length = Math.Min(random.Next(1, 4), content.Length - i);
                list.Add(new JsonObject { ["content"] = content.Substring(i, length) });
                i += length;
            }

            var calls = message["tool_calls"]?.AsArray() ?? [];
            for (var k = 0; k < calls.Count; k++)
            {
                var call = calls[k]!;
                list.Add(new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = k, ["id"] = call["id"]!.GetValue<string>(), ["type"] = "function", ["function"] = new JsonObject { ["name"] = call["function"]!["name"]!.GetValue<string>(), ["arguments"] = "" } }) });
                var arguments = call["function"]!["arguments"]!.GetValue<string>();
                for (var i = 0; i < arguments.Length; i += 5)
                {
                    list.Add(new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = k, ["function"] = new JsonObject { ["arguments"] = arguments.Substring(i, Math.Min(5, arguments.Length - i)) } }) });
                }
            }

            return list;
        }).ToList();
        for (var step = 0; step < deltas.Max(d => d.Count); step++)
        {
            for (var choice = 0; choice < deltas.Count; choice++)
            {
                if (step < deltas[choice].Count)
                {
                    await Event(choice, deltas[choice][step], null);
                }
            }
        }

        for (var choice = 0; choice < messages.Count; choice++)
        {
            await Event(choice, new JsonObject(), messages[choice]["tool_calls"] is not null ? "tool_calls" : "stop");
        }

        if (includeUsage)
        {
            await Event(0, null, null, new JsonObject { ["prompt_tokens"] = 5, ["completion_tokens"] = 5, ["total_tokens"] = 10 });
        }

        await WriteSplitAsync(http, "data: [DONE]\n\n", random);
    }

    private static string LastUserText(JsonObject body)
    {
        var last = body["messages"]?.AsArray().LastOrDefault(m => m?["role"]?.GetValue<string>() == "user");
        return last?["content"] switch
        {
            JsonValue v => v.GetValue<string>(),
            JsonArray parts => string.Join("\n", parts.Select(p => p?["text"]?.GetValue<string>())),
            _ => "",
        };
    }

    private static async Task WriteErrorAsync(HttpContext http, int status, string message, string type, string? param, string? code)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        var error = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code };
        await http.Response.WriteAsync(new JsonObject { ["error"] = error }.ToJsonString());
    }
}

/// <summary>What the upstream received: the Authorization header, content type and the body (raw and parsed).</summary>
public sealed record RecordedRequest(string Authorization, string? ContentType, string Body, JsonObject Json)
{
    public string PathAndQuery { get; init; } = "";

    public string ApiKey { get; init; } = "";

    public JsonArray Messages => Json["messages"]!.AsArray();
}
