namespace Rampart.Hosting;

internal static class ListenAddress
{
    /// <summary>Listens on <paramref name="url"/> unless <c>ASPNETCORE_URLS</c>, <c>--urls</c> or Kestrel endpoints say otherwise.</summary>
    public static void UseDefaultListenAddress(this WebApplicationBuilder builder, string url)
    {
        var configured = builder.Configuration["urls"] ?? builder.Configuration["ASPNETCORE_URLS"] ?? builder.Configuration["http_ports"];
        if (string.IsNullOrEmpty(configured) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            builder.WebHost.UseUrls(url);
            builder.Configuration["urls"] = url;
        }
    }
}
