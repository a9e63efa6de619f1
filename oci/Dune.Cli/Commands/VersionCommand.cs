using System.CommandLine;
using Dune.Oci.Spec;

namespace Dune.Cli.Commands;

/// <summary>`dune --version`, in runc's layout (callers parse the first line and "spec:").</summary>
internal static class VersionCommand
{
    public static readonly Option<bool> Option = new("--version", "-v") { Description = "print the version" };

    public static int Print()
    {
        var v = typeof(VersionCommand).Assembly.GetName().Version;
        Console.WriteLine($"dune version {v?.Major}.{v?.Minor}.{v?.Build}");
        Console.WriteLine("commit: none");
        Console.WriteLine($"spec: {SpecVersion.Current}");
        Console.WriteLine($"dotnet: {Environment.Version}");
        return 0;
    }
}
