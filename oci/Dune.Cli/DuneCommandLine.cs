using System.CommandLine;
using Dune.Cli.Commands;

namespace Dune.Cli;

/// <summary>The root command: global flags and one subcommand per file in Commands/.</summary>
public static class DuneCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("an OCI container runtime that runs every container process as a Dune process");
        // Our own --version (runc's format: docker and containerd print it).
        foreach (var o in root.Options.Where(o => o is VersionOption).ToList()) root.Options.Remove(o);
        foreach (var o in GlobalOptions.All) root.Options.Add(o);
        root.Options.Add(VersionCommand.Option);
        root.SetAction(r => r.GetValue(VersionCommand.Option) ? VersionCommand.Print() : HelpCommand.Print(root));
        foreach (var c in new Command[]
                 {
                     SpecCommand.Build(), CreateCommand.Build(), StartCommand.Build(), RunCommand.Build(),
                     StateCommand.Build(), ListCommand.Build(), KillCommand.Build(), DeleteCommand.Build(),
                     ExecCommand.Build(), PsCommand.Build(), PauseCommand.Build(), ResumeCommand.Build(),
                     UpdateCommand.Build(), EventsCommand.Build(), FeaturesCommand.Build(),
                     UnsupportedCommand.Build("checkpoint", "checkpoint a running container"),
                     UnsupportedCommand.Build("restore", "restore a container from a checkpoint"),
                     HelpCommand.Build(root),
                 })
            root.Subcommands.Add(c);
        RuncHelpText.Install(root);
        return root;
    }
}
