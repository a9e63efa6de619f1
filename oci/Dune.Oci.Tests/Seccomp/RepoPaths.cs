namespace Dune.Oci.Tests.Seccomp;

internal static class RepoPaths
{
    /// <summary>The checkout root (the directory holding Dune.sln), found from the test binary.</summary>
    public static string Root
    {
        get
        {
            for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "Dune.sln")))
                    return d.FullName;
            }
            throw new InvalidOperationException($"no Dune.sln above {AppContext.BaseDirectory}");
        }
    }
}
