using Rampart.Data;
using Rampart.Gateway;
using Rampart.Operations;

namespace Rampart.Audit;

internal static class AuditLog
{
    private const int MaxUserAgentLength = 256;

    public static IServiceCollection AddRampartAudit(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(PriceTable.Load(configuration));
        // Fail fast on locks: a batch that cannot be written within this time is spooled instead of holding up the queue.
        services.AddSingleton(sp => new AuditStore(sp.GetRequiredService<Db>().WithCommandTimeout(configuration.GetValue("Rampart:Audit:DatabaseTimeoutSeconds", 5))));
        services.AddSingleton(new AuditSpool(Db.DataDirectory(configuration)));
        services.AddSingleton<AuditWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditWriter>());
        return services;
    }

    /// <summary>
    /// Opens an <see cref="AuditEntry"/> for every request to the API, before authentication so that refused requests
    /// are recorded too, and hands the finished record to the <see cref="AuditWriter"/> — and to the request metrics — whatever happened. Plumbing only:
    /// what a request's outcome and verdicts were is decided by the handlers that fill the entry in.
    /// </summary>
    public static IApplicationBuilder UseAuditLog(this IApplicationBuilder app)
    {
        var writer = app.ApplicationServices.GetRequiredService<AuditWriter>();
        var prices = app.ApplicationServices.GetRequiredService<PriceTable>();
        var time = app.ApplicationServices.GetRequiredService<TimeProvider>();
        var metrics = app.ApplicationServices.GetRequiredService<GatewayMetrics>();
        return app.Use(async (http, next) =>
        {
            if (!ApiPaths.IsApi(http.Request.Path))
            {
                await next(http);
                return;
            }

            var entry = new AuditEntry(http.TraceIdentifier, time.GetUtcNow().ToUnixTimeMilliseconds())
            {
                // Routing has already run (WebApplication puts it first), so the matched route is known; the raw path is not kept.
                Endpoint = http.GetEndpoint() is RouteEndpoint route ? $"{http.Request.Method} {route.RoutePattern.RawText}" : null,
                ClientIp = http.Connection.RemoteIpAddress?.ToString(),
                UserAgent = Truncate(http.Request.Headers.UserAgent.ToString(), MaxUserAgentLength),
            };
            http.Features.Set(entry);
            try
            {
                await next(http);
            }
            catch
            {
                // Only reaches here when the error handler could not answer (the response had started).
                entry.Outcome ??= AuditOutcomes.Error;
                throw;
            }
            finally
            {
                if (entry.Outcome is null && http.RequestAborted.IsCancellationRequested && !http.Response.HasStarted)
                {
                    entry.Outcome = AuditOutcomes.ClientDisconnected;
                }

                var record = entry.Complete(http.Response.StatusCode, prices);
                writer.Enqueue(record);
                metrics.RequestCompleted(record);
            }
        });
    }

    private static string? Truncate(string text, int length) => text.Length == 0 ? null : text.Length <= length ? text : text[..length];
}
