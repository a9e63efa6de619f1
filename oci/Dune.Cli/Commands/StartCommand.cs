using System.CommandLine;
using Dune.Oci.Lifecycle;

namespace Dune.Cli.Commands;

/// <summary>`start`: runs the process of a created container.</summary>
internal static class StartCommand
{
    public static Command Build()
    {
        var cmd = new Command("start", "start a created container");
        var id = CommonArguments.ContainerId();
        cmd.Arguments.Add(id);
        cmd.SetAction(r => GlobalOptions.Invoke(r, ctx =>
        {
            StartOperation.Run(ctx, r.GetValue(id)!);
            return 0;
        }));
        return cmd;
    }
}
