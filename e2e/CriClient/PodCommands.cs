using Dune.E2e.CriClient.Cri;

namespace Dune.E2e.CriClient;

/// <summary>Pod sandbox subcommands: run-pod, pod-status, stop-pod, rm-pod.</summary>
internal static class PodCommands
{
    /// <summary>run-pod NAME [--handler H] [--log-dir DIR]: prints the pod sandbox id.</summary>
    public static async Task<int> Run(RuntimeService.RuntimeServiceClient cri, CommandLine args, CallContext call)
    {
        args.AllowOnly("handler", "log-dir");
        args.ExpectPositional(1, "run-pod NAME [--handler H] [--log-dir DIR]");
        var reply = await cri.RunPodSandboxAsync(new RunPodSandboxRequest
        {
            Config = PodSpecs.Sandbox(args.Arg(0, "pod name"), args.Option("log-dir")),
            RuntimeHandler = args.Option("handler") ?? "",
        }, call.Options()).ConfigureAwait(false);
        Console.WriteLine(reply.PodSandboxId);
        return 0;
    }

    /// <summary>pod-status POD_ID: prints the sandbox's status as JSON.</summary>
    public static async Task<int> Status(RuntimeService.RuntimeServiceClient cri, CommandLine args, CallContext call)
    {
        args.AllowOnly();
        args.ExpectPositional(1, "pod-status POD_ID");
        var reply = await cri.PodSandboxStatusAsync(new PodSandboxStatusRequest { PodSandboxId = args.Arg(0, "pod id") },
            call.Options()).ConfigureAwait(false);
        Console.WriteLine(JsonOutput.PodStatus(reply.Status));
        return 0;
    }

    /// <summary>stop-pod POD_ID</summary>
    public static async Task<int> Stop(RuntimeService.RuntimeServiceClient cri, CommandLine args, CallContext call)
    {
        args.AllowOnly();
        args.ExpectPositional(1, "stop-pod POD_ID");
        await cri.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = args.Arg(0, "pod id") },
            call.Options()).ConfigureAwait(false);
        return 0;
    }

    /// <summary>rm-pod POD_ID</summary>
    public static async Task<int> Remove(RuntimeService.RuntimeServiceClient cri, CommandLine args, CallContext call)
    {
        args.AllowOnly();
        args.ExpectPositional(1, "rm-pod POD_ID");
        await cri.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = args.Arg(0, "pod id") },
            call.Options()).ConfigureAwait(false);
        return 0;
    }
}
