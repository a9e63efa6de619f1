using System.CommandLine;
using Dune.E2e.CriClient;
using Dune.E2e.CriClient.Cri;

// cri-client --socket PATH [--timeout SECONDS] COMMAND ARGS...: one CRI call per invocation.
var root = new RootCommand("speaks the Kubernetes CRI (runtime.v1) to containerd, one RPC per command")
{
    CriCall.Socket,
    CriCall.Timeout,
    CriCall.Command("version", "prints the runtime's name and CRI version as JSON", async (_, cri, call) =>
        Console.WriteLine(JsonOutput.Version(await cri.VersionAsync(new VersionRequest { Version = "v1" }, call)))),
};
foreach (var c in PodCommands.Build()) root.Subcommands.Add(c);
foreach (var c in ContainerCommands.Build()) root.Subcommands.Add(c);
return await root.Parse(args).InvokeAsync();
