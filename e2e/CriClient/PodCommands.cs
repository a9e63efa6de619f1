using System.CommandLine;
using Dune.E2e.CriClient.Cri;

namespace Dune.E2e.CriClient;

/// <summary>Pod sandbox subcommands: run-pod, pod-status, stop-pod, rm-pod.</summary>
internal static class PodCommands
{
    public static IEnumerable<Command> Build()
    {
        var name = new Argument<string>("name") { Description = "the pod's name" };
        var handler = new Option<string>("--handler") { Description = "runtime handler", DefaultValueFactory = _ => "" };
        var logDir = new Option<string?>("--log-dir") { Description = "the pod's log directory" };
        yield return CriCall.Command("run-pod", "runs a host-network pod sandbox; prints its id", async (r, cri, call) =>
        {
            var reply = await cri.RunPodSandboxAsync(new RunPodSandboxRequest
            {
                Config = PodSpecs.Sandbox(r.GetValue(name)!, r.GetValue(logDir)),
                RuntimeHandler = r.GetValue(handler)!,
            }, call).ConfigureAwait(false);
            Console.WriteLine(reply.PodSandboxId);
        }, name, handler, logDir);

        var id = PodId();
        yield return CriCall.Command("pod-status", "prints the sandbox's status as JSON", async (r, cri, call) =>
        {
            var reply = await cri.PodSandboxStatusAsync(new PodSandboxStatusRequest { PodSandboxId = r.GetValue(id)! }, call).ConfigureAwait(false);
            Console.WriteLine(JsonOutput.PodStatus(reply.Status));
        }, id);
        var stopId = PodId();
        yield return CriCall.Command("stop-pod", "stops the sandbox and its containers", async (r, cri, call) =>
            await cri.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = r.GetValue(stopId)! }, call).ConfigureAwait(false), stopId);
        var rmId = PodId();
        yield return CriCall.Command("rm-pod", "removes the sandbox", async (r, cri, call) =>
            await cri.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = r.GetValue(rmId)! }, call).ConfigureAwait(false), rmId);
    }

    private static Argument<string> PodId() => new("pod-id");
}
