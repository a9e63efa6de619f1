using System.CommandLine;
using System.Text.Json;
using Dune.Oci.Spec;

namespace Dune.Cli.Commands;

/// <summary>`features`: the OCI features document.</summary>
internal static class FeaturesCommand
{
    public static Command Build()
    {
        var cmd = new Command("features", "show what this runtime supports (OCI features document)");
        cmd.SetAction(r => GlobalOptions.Invoke(r, _ =>
        {
            Console.WriteLine(JsonSerializer.Serialize(FeaturesDocument.Build(), IndentedSpecJson.Default.Features));
            return 0;
        }));
        return cmd;
    }
}
