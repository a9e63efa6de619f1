using System.CommandLine;
using Dune.Oci;

namespace Dune.Cli.Commands;

/// <summary>
/// runc's `checkpoint` and `restore` (CRIU): dune has no checkpoint/restore, so with any
/// flags they fail with one clear error instead of "unknown command".
/// </summary>
internal static class UnsupportedCommand
{
    public static Command Build(string name, string description)
    {
        var cmd = new Command(name, $"{description} (not supported by dune: it fails)") { TreatUnmatchedTokensAsErrors = false };
        var rest = new Argument<string[]>("arguments") { Arity = ArgumentArity.ZeroOrMore };
        cmd.Arguments.Add(rest);
        cmd.SetAction(r => GlobalOptions.Invoke(r, _ =>
            throw new RuntimeError($"{name} is not supported: dune has no checkpoint/restore (CRIU) support")));
        return cmd;
    }
}
