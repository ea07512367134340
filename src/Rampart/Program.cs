using Rampart.Audit;
using Rampart.Auth;
using Rampart.Cli;
using Rampart.Dashboard;
using Rampart.Data;
using Rampart.Gateway;
using Rampart.Guardrails.Rules;
using Rampart.Hosting;
using Rampart.Management;
using Rampart.OpenAI;
using Rampart.Operations;
using Rampart.Providers;
using Rampart.Search;

if (RampartCli.IsCommand(args))
{
    return await RampartCli.RunAsync(args, Console.Out, Console.Error);
}

var builder = WebApplication.CreateBuilder(args);
builder.UseDefaultListenAddress("http://localhost:8080");
builder.UseServerLimits();
builder.UseTrustedProxies();
builder.Logging.AddFilter("Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware", LogLevel.None);
builder.AddRampartOperations();
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, OpenAIJson.Default));
builder.Services
    .AddRampartData(builder.Configuration)
    .AddRampartAuth(builder.Configuration)
    .AddRampartAudit(builder.Configuration)
    .AddRampartProviders(builder.Configuration)
    .AddRampartSearch()
    .AddRampartManagement()
    .AddRampartFirewall()
    .AddRampartDashboard();

var app = builder.Build();
app.UseTrustedProxyHeaders();
app.UseRequestIds();
app.UseRouting(); // after the request id, so that routing's own log lines carry it too
app.UseAuditLog();
app.UseApiErrorEnvelopes();
app.UseApiKeyAuthentication();
app.UseDashboardAuthentication();
app.MapGatewayApi();
app.MapManagementApi();
app.MapDashboard();
app.MapOperations();

await app.RunAsync();
return 0;

/// <summary>The entry point, visible to the integration tests' <c>WebApplicationFactory</c>.</summary>
public partial class Program;
