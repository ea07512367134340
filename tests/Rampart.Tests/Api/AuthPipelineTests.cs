using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Rampart.Tests.Infrastructure;

namespace Rampart.Tests.Api;

/// <summary>
/// ASP.NET Core's authentication middleware runs for the dashboard and not for the API, whose keys the gateway checks
/// itself: WebApplication would otherwise put it in front of every request. The probe wraps the whole pipeline and notes,
/// per path, whether that middleware left its feature on the request.
/// </summary>
public sealed class AuthPipelineTests(AuthPipelineTests.ProbedGateway gateway) : IClassFixture<AuthPipelineTests.ProbedGateway>
{
    [Fact]
    public async Task ApiRequests_SkipTheFrameworkAuthentication_DashboardRequestsGetIt()
    {
        var (_, key) = await gateway.CreateCallerAsync("default");
        using var http = gateway.Http(key);
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(gateway.BaseUrl + "/") };

        var models = await http.GetAsync("api/v1/models");
        var chat = await http.PostAsJsonAsync("api/v1/chat/completions", new { model = "default", messages = new[] { new { role = "user", content = "hi" } } });
        var signIn = await browser.GetAsync("dashboard/sign-in");
        var profile = await browser.GetAsync("dashboard/profile");

        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, profile.StatusCode); // the dashboard's policy still sends a stranger to sign in
        Assert.False(gateway.Authenticated["/api/v1/models"]);
        Assert.False(gateway.Authenticated["/api/v1/chat/completions"]);
        Assert.True(gateway.Authenticated["/dashboard/sign-in"]);
        Assert.True(gateway.Authenticated["/dashboard/profile"]);
    }

    public sealed class ProbedGateway : GatewayFixture
    {
        public ConcurrentDictionary<string, bool> Authenticated { get; } = new();

        protected override void ConfigureServices(IServiceCollection services) =>
            services.AddSingleton<IStartupFilter>(new AuthenticationProbe(Authenticated));
    }

    private sealed class AuthenticationProbe(ConcurrentDictionary<string, bool> authenticated) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (http, inner) =>
            {
                await inner(http);
                authenticated[http.Request.Path.Value!] = http.Features.Get<IAuthenticationFeature>() is not null;
            });
            next(app);
        };
    }
}
