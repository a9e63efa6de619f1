using System.CommandLine;
using Dune.Oci.Lifecycle;

namespace Dune.Cli.Commands;

/// <summary>`resume ID`: thaw a paused container.</summary>
internal static class ResumeCommand
{
    public static Command Build()
    {
        var cmd = new Command("resume", "resume all processes of a paused container");
        var id = CommonArguments.ContainerId();
        cmd.Arguments.Add(id);
        cmd.SetAction(r => GlobalOptions.Invoke(r, ctx => { FreezeOperation.Resume(ctx, r.GetValue(id)!); return 0; }));
        return cmd;
    }
}
