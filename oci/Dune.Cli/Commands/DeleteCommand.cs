using System.CommandLine;
using Dune.Oci.Lifecycle;

namespace Dune.Cli.Commands;

/// <summary>`delete [--force] ID`.</summary>
internal static class DeleteCommand
{
    public static Command Build()
    {
        var cmd = new Command("delete", "delete a container and everything it holds");
        cmd.Aliases.Add("rm");
        var id = CommonArguments.ContainerId();
        var force = new Option<bool>("--force", "-f") { Description = "kill a running or paused container first" };
        cmd.Arguments.Add(id);
        cmd.Options.Add(force);
        cmd.SetAction(r => GlobalOptions.Invoke(r, ctx =>
        {
            var cid = r.GetValue(id)!;
            Dune.Oci.Validation.ContainerId.Validate(cid);
            DeleteOperation.Run(ctx, cid, r.GetValue(force));
            return 0;
        }));
        return cmd;
    }
}
