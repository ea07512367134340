using Rampart.Data;

namespace Rampart.Hosting;

internal static class RequestIds
{
    public const string Header = "x-request-id";

    /// <summary>Gives every request an id of ours (never the client's, which could be forged), echoed in <c>x-request-id</c>.</summary>
    public static IApplicationBuilder UseRequestIds(this IApplicationBuilder app) => app.Use((http, next) =>
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
        return next(http);
    });
}
