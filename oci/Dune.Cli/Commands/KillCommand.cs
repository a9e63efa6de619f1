using System.CommandLine;
using Dune.Oci.Lifecycle;
using Dune.Oci.Linux;

namespace Dune.Cli.Commands;

/// <summary>`kill ID [SIGNAL]`: signal name or number, default TERM.</summary>
internal static class KillCommand
{
    public static Command Build()
    {
        var cmd = new Command("kill", "send a signal to the container's init process");
        var id = CommonArguments.ContainerId();
        var signal = new Argument<string>("signal") { Arity = ArgumentArity.ZeroOrOne, DefaultValueFactory = _ => "TERM" };
        var all = new Option<bool>("--all", "-a") { Description = "send the signal to every process in the container" };
        cmd.Arguments.Add(id);
        cmd.Arguments.Add(signal);
        cmd.Options.Add(all);
        cmd.SetAction(r => GlobalOptions.Invoke(r, ctx =>
        {
            KillOperation.Run(ctx, r.GetValue(id)!, SignalNames.Parse(r.GetValue(signal)!), r.GetValue(all));
            return 0;
        }));
        return cmd;
    }
}
