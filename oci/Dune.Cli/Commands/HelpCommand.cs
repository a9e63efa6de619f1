using System.CommandLine;
using Dune.Oci;

namespace Dune.Cli.Commands;

/// <summary>
/// `dune help [command]`, and runc's answer to a command it does not know (`dune foo`,
/// `dune foo -h`, `dune help foo`): "No help topic for 'foo'" as an error, exit status 3.
/// </summary>
internal static class HelpCommand
{
    /// <summary>runc's (urfave/cli's) exit status for an unknown command.</summary>
    public const int UnknownCommandStatus = 3;

    public static Command Build(RootCommand root)
    {
        var cmd = new Command("help", "show help for dune or one of its commands");
        cmd.Aliases.Add("h");
        var name = new Argument<string?>("command") { Arity = ArgumentArity.ZeroOrOne };
        cmd.Arguments.Add(name);
        cmd.SetAction(r =>
        {
            var target = r.GetValue(name);
            if (target is null) return root.Parse("--help").Invoke();
            if (Find(root, target) is null) return Unknown(r, target);
            return root.Parse(new[] { target, "--help" }).Invoke();
        });
        return cmd;
    }

    public static int Print(RootCommand root) => root.Parse("--help").Invoke();

    /// <summary>The first word of a command line that parsed to the root command but is no command name, if any.</summary>
    public static string? UnknownCommand(ParseResult r) =>
        r.CommandResult.Command is RootCommand && r.UnmatchedTokens.FirstOrDefault() is { } t && !t.StartsWith('-') ? t : null;

    /// <summary>Reports <paramref name="name"/> as runc does, to stderr and the --log file.</summary>
    public static int Unknown(ParseResult r, string name)
    {
        RuntimeLog.Configure(r.GetValue(GlobalOptions.Log), r.GetValue(GlobalOptions.LogFormat) ?? "text", r.GetValue(GlobalOptions.Debug));
        RuntimeLog.Error($"No help topic for '{name}'");
        return UnknownCommandStatus;
    }

    private static Command? Find(RootCommand root, string name) =>
        root.Subcommands.FirstOrDefault(c => c.Name == name || c.Aliases.Contains(name));
}
