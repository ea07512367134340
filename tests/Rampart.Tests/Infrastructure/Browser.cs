using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Rampart.Tests.Infrastructure;

/// <summary>
/// Headless Chromium (Debian's <c>chromium</c> + <c>chromium-driver</c>) driven by Selenium, with the flags that keep it
/// from reaching for the network on a machine that has none. No browser is downloaded: when it is missing, creating
/// one fails with the command that installs it (CI's <c>.ci/run</c> does).
/// </summary>
public sealed class Browser : IDisposable
{
    public static readonly string ChromiumPath = Environment.GetEnvironmentVariable("RAMPART_CHROMIUM") ?? "/usr/bin/chromium";
    public static readonly string DriverPath = Environment.GetEnvironmentVariable("RAMPART_CHROMEDRIVER") ?? "/usr/bin/chromedriver";

    private readonly string _profileDir = Path.Combine(Path.GetTempPath(), "rampart-chromium-" + Guid.NewGuid().ToString("N"));

    public Browser()
    {
        if (!File.Exists(ChromiumPath) || !File.Exists(DriverPath))
        {
            throw new InvalidOperationException(
                $"The dashboard's browser tests need Chromium at {ChromiumPath} and chromedriver at {DriverPath}, and at least one is missing. " +
                "Install them with: apt-get update && apt-get install -y chromium chromium-driver (or set RAMPART_CHROMIUM / RAMPART_CHROMEDRIVER).");
        }

        var options = new ChromeOptions { BinaryLocation = ChromiumPath };
        options.AddArguments(
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={_profileDir}", "--window-size=1280,900");
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(DriverPath)!, Path.GetFileName(DriverPath));
        service.SuppressInitialDiagnosticInformation = true;
        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        Driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(30);
    }

    public ChromeDriver Driver { get; }

    public string BaseUrl { get; set; } = "";

    public void Go(string path) => Driver.Navigate().GoToUrl(BaseUrl + path);

    public IWebElement Find(string css) => Driver.FindElement(By.CssSelector(css));

    public IReadOnlyCollection<IWebElement> FindAll(string css) => Driver.FindElements(By.CssSelector(css));

    public void Type(string css, string text)
    {
        var element = Find(css);
        element.Clear();
        element.SendKeys(text);
    }

    /// <summary>Clicks and waits for the next page: the old one's body must go stale.</summary>
    public void ClickAndWait(string css)
    {
        var body = Find("body");
        Find(css).Click();
        new WebDriverWait(Driver, TimeSpan.FromSeconds(15)).Until(_ => IsStale(body));
    }

    public void SignIn(string email, string password)
    {
        Driver.Manage().Cookies.DeleteAllCookies();
        Go("/dashboard/profile");
        Type("#email", email);
        Type("#password", password);
        ClickAndWait("#sign-in");
    }

    public string CurrentPath => new Uri(Driver.Url).AbsolutePath;

    /// <summary>
    /// Saves a screenshot to the test output folder, and to <c>docs/screenshots/</c> when <c>RAMPART_UPDATE_SCREENSHOTS=1</c>
    /// (so an ordinary test run leaves the repository unchanged).
    /// </summary>
    public void Screenshot(string name)
    {
        var shot = Driver.GetScreenshot();
        var local = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(local);
        shot.SaveAsFile(Path.Combine(local, name + ".png"));
        if (Environment.GetEnvironmentVariable("RAMPART_UPDATE_SCREENSHOTS") == "1" && Repository.FindRoot() is { } root)
        {
            var docs = Path.Combine(root, "docs", "screenshots");
            Directory.CreateDirectory(docs);
            shot.SaveAsFile(Path.Combine(docs, name + ".png"));
        }
    }

    /// <summary>A full-page screenshot at <paramref name="width"/> CSS pixels: the viewport is made as tall as the document.</summary>
    public void FullScreenshot(string name, int width = 1280)
    {
        Metrics(width, 900, mobile: width < 600);
        var height = Convert.ToInt32(Driver.ExecuteScript("return document.documentElement.scrollHeight"), System.Globalization.CultureInfo.InvariantCulture);
        Metrics(width, Math.Clamp(height, 400, 4000), mobile: width < 600);
        Screenshot(name);
        Driver.ExecuteCdpCommand("Emulation.clearDeviceMetricsOverride", []);
    }

    private void Metrics(int width, int height, bool mobile) =>
        Driver.ExecuteCdpCommand("Emulation.setDeviceMetricsOverride",
            new Dictionary<string, object?> { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = mobile });

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
        try
        {
            Directory.Delete(_profileDir, recursive: true);
        }
        catch (IOException)
        {
            // Chromium may still be writing its profile as it exits; the temp folder is cleaned by the OS.
        }
    }

    private static bool IsStale(IWebElement element)
    {
        try
        {
            _ = element.Enabled;
            return false;
        }
        catch (StaleElementReferenceException)
        {
            return true;
        }
        catch (WebDriverException ex) when (ex.Message.Contains("does not belong to the document", StringComparison.Ordinal))
        {
            // Chromium reports a node of a page that was just replaced this way too, mid-navigation.
            return true;
        }
    }
}
