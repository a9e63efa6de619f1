using System.CommandLine;
using Dune.Oci.Lifecycle;

namespace Dune.Cli.Commands;

/// <summary>`pause ID`: freeze every process of the container.</summary>
internal static class PauseCommand
{
    public static Command Build()
    {
        var cmd = new Command("pause", "suspend all processes of a container");
        var id = CommonArguments.ContainerId();
        cmd.Arguments.Add(id);
        cmd.SetAction(r => GlobalOptions.Invoke(r, ctx => { FreezeOperation.Pause(ctx, r.GetValue(id)!); return 0; }));
        return cmd;
    }
}
