namespace Dune.Oci.Tests.Seccomp;

/// <summary>
/// A C helper program the tests build once per run with the host's cc into a temporary
/// directory (cc's absence, or a compile error, fails the tests that use it).
/// </summary>
public abstract class CompiledCTool : IDisposable
{
    protected CompiledCTool(string name, params string[] ccArguments)
    {
        Directory = Path.Combine(Path.GetTempPath(), $"dune-{name}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
        Tool = Path.Combine(Directory, name);
        (int code, string output) = SeccompKernelTests.RunProcess("cc", ["-Wall", "-Wextra", "-Werror", "-O2", "-o", Tool, .. ccArguments]);
        if (code != 0)
            throw new InvalidOperationException($"cc failed ({code}): {output}");
    }

    /// <summary>Scratch directory of the run; the tool lives here.</summary>
    public string Directory { get; }

    public string Tool { get; }

    public void Dispose()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        GC.SuppressFinalize(this);
    }

    protected static string Source(params string[] repoPath) => Path.Combine([RepoPaths.Root, .. repoPath]);
}
