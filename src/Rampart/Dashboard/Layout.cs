using System.Globalization;

namespace Rampart.Dashboard;

/// <summary>The page frame: head, navigation, and the small formatting helpers every page shares.</summary>
internal static class Layout
{
    private static readonly (string Section, string Label, string Path)[] Sections =
    [
        ("profile", "Profile", "/dashboard/profile"),
        ("workspaces", "Workspaces", "/dashboard/workspaces"),
        ("audit", "Audit log", "/dashboard/audit"),
        ("usage", "Usage", "/dashboard/usage"),
        ("providers", "Providers", "/dashboard/providers"),
    ];

    public static IResult Page(DashboardRequest request, string title, string section, Html body, int status)
    {
        var nav = Html.Join(Sections.Select(s => s.Section == section
            ? Html.Of($"""<a href="{s.Path}" aria-current="page">{s.Label}</a>""")
            : Html.Of($"""<a href="{s.Path}">{s.Label}</a>""")));
        var header = Html.Of($"""
            <header class="top">
              <a class="brand" href="/dashboard">Rampart</a>
              <nav>{nav}</nav>
              <div class="who"><span title="{request.User.Email}">{request.User.DisplayName}</span>{(request.User.IsOrgAdmin ? Html.Raw(" <span class=\"badge info\">org admin</span>") : Html.Empty)}
                <form method="post" action="/dashboard/sign-out">{request.Csrf}<button class="link" type="submit" id="sign-out">Sign out</button></form>
              </div>
            </header>
            """);
        return Document(title, header, Html.Of($"<main><h1>{title}</h1>{body}</main>"), status);
    }

    /// <summary>A page without navigation: sign-in and errors met before a session exists.</summary>
    public static IResult Bare(string title, int status, Html body) =>
        Document(title, Html.Raw("""<header class="top"><span class="brand">Rampart</span></header>"""),
            Html.Of($"""<main class="narrow"><h1>{title}</h1>{body}</main>"""), status);

    private static IResult Document(string title, Html header, Html main, int status)
    {
        var html = Html.Of($"""
            <!doctype html>
            <html lang="en">
            <head>
              <meta charset="utf-8">
              <meta name="viewport" content="width=device-width, initial-scale=1">
              <title>{title} · Rampart</title>
              <link rel="stylesheet" href="/dashboard/assets/dashboard.css">
              <script src="/dashboard/assets/dashboard.js" defer></script>
            </head>
            <body>
            {header}
            {main}
            </body>
            </html>
            """);
        return Results.Content(html.Value, "text/html; charset=utf-8", statusCode: status);
    }

    public static Html Alert(string kind, string? message) => message is null ? Html.Empty : Html.Of($"""<div class="alert {kind}" role="status">{message}</div>""");

    public static Html Empty(string message) => Html.Of($"""<p class="empty">{message}</p>""");

    public static string Time(long? unixMs) =>
        unixMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) : "—";

    public static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Money(double value) => value.ToString(value < 1 && value > 0 ? "$0.0000" : "$#,##0.00", CultureInfo.InvariantCulture);

    public static Html Options(IEnumerable<(string Value, string Label)> options, string? selected) =>
        Html.Join(options.Select(o => o.Value == selected
            ? Html.Of($"""<option value="{o.Value}" selected>{o.Label}</option>""")
            : Html.Of($"""<option value="{o.Value}">{o.Label}</option>""")));

    public static Html Checked(bool on) => on ? Html.Raw(" checked") : Html.Empty;
}
