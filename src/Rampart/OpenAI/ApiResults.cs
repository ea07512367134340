using Microsoft.Net.Http.Headers;
using Rampart.Audit;

namespace Rampart.OpenAI;

/// <summary>Writes OpenAI-shaped answers. Every error of <c>/api/v1</c> leaves through <see cref="WriteAsync"/>.</summary>
internal static class ApiResults
{
    public static IResult ToResult(this ApiError error) => new ErrorResult(error);

    public static async Task WriteAsync(this ApiError error, HttpContext http)
    {
        var response = http.Response;
        if (response.HasStarted)
        {
            return;
        }

        http.Audit().Failed(error);
        response.StatusCode = error.Status;
        if (error.RetryAfter is { } retryAfter)
        {
            response.Headers[HeaderNames.RetryAfter] = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString();
        }

        await response.WriteAsJsonAsync(error.ToEnvelope(), OpenAIJson.Wire.OpenAIErrorEnvelope, contentType: "application/json", http.RequestAborted);
    }

    private sealed class ErrorResult(ApiError error) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => error.Status;

        public Task ExecuteAsync(HttpContext httpContext) => error.WriteAsync(httpContext);
    }
}
