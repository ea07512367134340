namespace Rampart.Tests.Infrastructure;

/// <summary>The repository the tests run in (the folder holding Rampart.slnx), found by walking up from the test's output folder.</summary>
internal static class Repository
{
    /// <summary>The repository root; null when the tests run outside a checkout.</summary>
    public static string? FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Rampart.slnx")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    /// <summary>The repository root, for tests that need the source or the other projects' builds.</summary>
    public static string Root => FindRoot() ?? throw new DirectoryNotFoundException($"No Rampart.slnx above {AppContext.BaseDirectory}.");
}
