using System.CommandLine;
using System.Text.Json;
using Dune.Oci;
using Dune.Oci.Spec;

namespace Dune.Cli.Commands;

/// <summary>`spec`: writes a default config.json, as `runc spec` does.</summary>
internal static class SpecCommand
{
    public static Command Build()
    {
        var cmd = new Command("spec", "create a new specification file (config.json)");
        var bundle = CommonArguments.Bundle();
        var rootless = new Option<bool>("--rootless") { Description = "a spec for a rootless container" };
        cmd.Options.Add(bundle);
        cmd.Options.Add(rootless);
        cmd.SetAction(r => GlobalOptions.Invoke(r, _ =>
        {
            var path = Path.Combine(r.GetValue(bundle)!, "config.json");
            if (File.Exists(path)) throw new RuntimeError($"File {path} exists. Remove it first");
            var spec = DefaultSpec.Create(r.GetValue(rootless), Dune.Oci.Cgroups.CgroupManagerFactory.HostIsUnified());
            var json = JsonSerializer.Serialize(spec, IndentedSpecJson.Default.RuntimeSpec);
            File.WriteAllText(path, json + "\n");
            return 0;
        }));
        return cmd;
    }
}
