using System.Collections;
using Rampart.Data;

namespace Rampart.Hosting;

internal static class RequestIds
{
    public const string Header = "x-request-id";

    /// <summary>
    /// Gives every request an id of ours (never the client's, which could be forged), echoed in <c>x-request-id</c>,
    /// and opens a logging scope with it, so every line logged for the request carries <c>RequestId</c>.
    /// </summary>
    public static IApplicationBuilder UseRequestIds(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Rampart.Requests");
        return app.Use(async (http, next) =>
        {
            var id = "req_" + Ids.UniqueBase62(22);
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
        });
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
