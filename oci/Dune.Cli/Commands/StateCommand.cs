using System.CommandLine;
using System.Text.Json;
using Dune.Oci.Lifecycle;

namespace Dune.Cli.Commands;

/// <summary>`state`: the runtime-spec state document of one container.</summary>
internal static class StateCommand
{
    public static Command Build()
    {
        var cmd = new Command("state", "output the state of a container");
        var id = CommonArguments.ContainerId();
        cmd.Arguments.Add(id);
        cmd.SetAction(r => GlobalOptions.Invoke(r, ctx =>
        {
            var cid = r.GetValue(id)!;
            Dune.Oci.Validation.ContainerId.Validate(cid);
            var record = ctx.Store.Load(cid);
            Console.WriteLine(JsonSerializer.Serialize(ContainerStatus.StateOf(record, ctx.Store), IndentedSpecJson.Default.ContainerState));
            return 0;
        }));
        return cmd;
    }
}
