using System.CommandLine;

namespace Dune.Cli;

// The root command: global flags shared by every subcommand, as runc spells them.
public static class DuneCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("dune: an OCI container runtime that runs every container process as a Dune process");
        return root;
    }
}
