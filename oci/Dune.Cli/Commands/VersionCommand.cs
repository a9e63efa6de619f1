using System.CommandLine;
using Dune.Oci.Spec;

namespace Dune.Cli.Commands;

/// <summary>
/// `dune --version`, in runc's layout: "dune version X", "commit: Y", "spec: Z" on the first
/// three lines (docker and containerd parse them), then the runtime it was built with.
/// </summary>
internal static class VersionCommand
{
    public static readonly Option<bool> Option = new("--version", "-v") { Description = "print the version" };

    public static int Print()
    {
        Console.WriteLine($"dune version {BuildInfo.Version}");
        Console.WriteLine($"commit: {BuildInfo.Commit}");
        Console.WriteLine($"spec: {SpecVersion.Current}");
        Console.WriteLine($"dotnet: {Environment.Version}");
        return 0;
    }
}
