using System.CommandLine;
using System.CommandLine.Help;

namespace Dune.Cli.Commands;

/// <summary>`dune help [command]`.</summary>
internal static class HelpCommand
{
    public static Command Build(RootCommand root)
    {
        var cmd = new Command("help", "show help for dune or one of its commands");
        var name = new Argument<string?>("command") { Arity = ArgumentArity.ZeroOrOne };
        cmd.Arguments.Add(name);
        cmd.SetAction(r =>
        {
            var target = r.GetValue(name);
            var args = target is null ? new[] { "--help" } : new[] { target, "--help" };
            return root.Parse(args).Invoke();
        });
        return cmd;
    }

    public static int Print(RootCommand root) => root.Parse("--help").Invoke();
}
