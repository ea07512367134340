using Microsoft.AspNetCore.Diagnostics;
using Rampart.Gateway;
using Rampart.OpenAI;

namespace Rampart.Hosting;

/// <summary>
/// Makes every failure under <c>/api/v1</c> an OpenAI error envelope: unknown URLs, wrong methods, oversized or
/// malformed HTTP, and unexpected exceptions (logged with the request id, never with the body).
/// </summary>
internal static partial class ApiErrorHandling
{
    public static IApplicationBuilder UseApiErrorEnvelopes(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Rampart.Errors");
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = async http =>
            {
                var exception = http.Features.Get<IExceptionHandlerFeature>()?.Error;
                ApiError error = exception switch
                {
                    BadHttpRequestException bad => new ApiError(bad.StatusCode, BadRequestMessage(bad.StatusCode), "invalid_request_error", null, "bad_request"),
                    _ => ApiError.Internal(http.TraceIdentifier),
                };
                if (error.Status >= 500)
                {
                    LogUnhandled(logger, exception, http.TraceIdentifier);
                }

                await error.WriteAsync(http);
            },
        });

        app.UseStatusCodePages(async context =>
        {
            var http = context.HttpContext;
            if (!ApiPaths.IsApi(http.Request.Path) || http.Response.HasStarted)
            {
                return;
            }

            var status = http.Response.StatusCode;
            var error = status switch
            {
                StatusCodes.Status404NotFound => new ApiError(status, $"Unknown request URL: {http.Request.Method} {http.Request.Path}. See the API reference in the README.", "invalid_request_error", null, "unknown_url"),
                StatusCodes.Status415UnsupportedMediaType => new ApiError(status, "Send the request body as JSON with 'Content-Type: application/json'.", "invalid_request_error", null, "unsupported_content_type"),
                StatusCodes.Status405MethodNotAllowed => new ApiError(status, $"The method {http.Request.Method} is not allowed on {http.Request.Path}.", "invalid_request_error", null, "method_not_allowed"),
                _ => new ApiError(status, BadRequestMessage(status), status >= 500 ? "server_error" : "invalid_request_error", null, null),
            };
            await error.WriteAsync(http);
        });
        return app;
    }

    private static string BadRequestMessage(int status) => status switch
    {
        StatusCodes.Status413PayloadTooLarge => "The request body is larger than this gateway accepts.",
        StatusCodes.Status408RequestTimeout => "The request body arrived too slowly.",
        StatusCodes.Status431RequestHeaderFieldsTooLarge => "The request headers are too large.",
        _ => "The HTTP request is malformed.",
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error in request {RequestId}")]
    private static partial void LogUnhandled(ILogger logger, Exception? exception, string requestId);
}
