using System.Collections;
using System.Diagnostics;
using Rampart.Data;

namespace Rampart.Hosting;

internal static class RequestIds
{
    public const string Header = "x-request-id";

    /// <summary>
    /// Gives every request an id of ours (never the client's, which could be forged), echoed in <c>x-request-id</c>,
    /// and opens a logging scope with it, so every line logged for the request carries <c>RequestId</c>. When a trace
    /// exporter listens, the request's span gets the id, method, route template and status (ASP.NET Core 10 sets none).
    /// </summary>
    public static IApplicationBuilder UseRequestIds(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Rampart.Requests");
        var time = app.ApplicationServices.GetRequiredService<TimeProvider>();
        return app.Use(async (http, next) =>
        {
            var id = Ids.TimeOrderedBase62(time.GetUtcNow(), prefix: "req_");
            http.TraceIdentifier = id;
            // Set as the response starts, so that error handlers that clear the response keep it.
            http.Response.OnStarting(static state =>
            {
                var context = (HttpContext)state;
                context.Response.Headers[Header] = context.TraceIdentifier;
                return Task.CompletedTask;
            }, http);
            using (logger.BeginScope(new RequestScope(id)))
            {
                await next(http);
            }

            if (Activity.Current is { IsAllDataRequested: true } span)
            {
                Describe(span, http);
            }
        });
    }

    /// <summary>Only what cannot carry caller data: the route's template, never the path or query.</summary>
    private static void Describe(Activity span, HttpContext http)
    {
        var route = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
        span.DisplayName = route is null ? http.Request.Method : $"{http.Request.Method} {route}";
        span.SetTag("rampart.request_id", http.TraceIdentifier);
        span.SetTag("http.request.method", http.Request.Method);
        span.SetTag("http.route", route);
        span.SetTag("http.response.status_code", http.Response.StatusCode);
    }

    /// <summary>The scope's one property; formatted as <c>RequestId:req_…</c> by text sinks.</summary>
    private sealed class RequestScope(string id) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Count => 1;

        public KeyValuePair<string, object?> this[int index] =>
            index == 0 ? new("RequestId", id) : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => "RequestId:" + id;
    }
}
