using System.Text.Json;
using Dune.E2e.CriClient.Cri;

namespace Dune.E2e.CriClient;

/// <summary>Container subcommands: create, start, stop, rm, status, ps, exec-sync.</summary>
internal static class ContainerCommands
{
    /// <summary>
    /// create POD_ID POD_NAME NAME IMAGE [--log-dir DIR] [--env K=V]... -- CMD...: prints the
    /// container id. POD_NAME and --log-dir rebuild the sandbox configuration run-pod sent.
    /// </summary>
    public static async Task<int> Create(RuntimeService.RuntimeServiceClient cri, CommandLine args, CallContext call)
    {
        args.AllowOnly("log-dir", "env");
        args.ExpectPositional(4, "create POD_ID POD_NAME NAME IMAGE [--log-dir DIR] [--env K=V]... -- CMD...");
        string? logDir = args.Option("log-dir");
        var reply = await cri.CreateContainerAsync(new CreateContainerRequest
        {
            PodSandboxId = args.Arg(0, "pod id"),
            SandboxConfig = PodSpecs.Sandbox(args.Arg(1, "pod name"), logDir),
            Config = PodSpecs.Container(args.Arg(2, "container name"), args.Arg(3, "image"), args.Rest,
                args.Options("env"), logToFile: logDir is not null),
        }, call.Options()).ConfigureAwait(false);
        Console.WriteLine(reply.ContainerId);
        return 0;
    }

    /// <summary>start ID</summary>
    public static async Task<int> Start(RuntimeService.RuntimeServiceClient cri, CommandLine args, CallContext call)
    {
        args.AllowOnly();
        args.ExpectPositional(1, "start ID");
        await cri.StartContainerAsync(new StartContainerRequest { ContainerId = args.Arg(0, "container id") },
            call.Options()).ConfigureAwait(false);
        return 0;
    }

    /// <summary>stop ID [--grace SECONDS]: SIGTERM (the image's stop signal), SIGKILL after the grace period.</summary>
    public static async Task<int> Stop(RuntimeService.RuntimeServiceClient cri, CommandLine args, CallContext call)
    {
        args.AllowOnly("grace");
        args.ExpectPositional(1, "stop ID [--grace SECONDS]");
        await cri.StopContainerAsync(new StopContainerRequest
        {
            ContainerId = args.Arg(0, "container id"),
            Timeout = args.LongOption("grace", 0),
        }, call.Options()).ConfigureAwait(false);
        return 0;
    }

    /// <summary>rm ID</summary>
    public static async Task<int> Remove(RuntimeService.RuntimeServiceClient cri, CommandLine args, CallContext call)
    {
        args.AllowOnly();
        args.ExpectPositional(1, "rm ID");
        await cri.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = args.Arg(0, "container id") },
            call.Options()).ConfigureAwait(false);
        return 0;
    }

    /// <summary>status ID: the container's status as JSON, with the pid containerd reports (verbose info).</summary>
    public static async Task<int> Status(RuntimeService.RuntimeServiceClient cri, CommandLine args, CallContext call)
    {
        args.AllowOnly();
        args.ExpectPositional(1, "status ID");
        var reply = await cri.ContainerStatusAsync(new ContainerStatusRequest
        {
            ContainerId = args.Arg(0, "container id"),
            Verbose = true,
        }, call.Options()).ConfigureAwait(false);
        Console.WriteLine(JsonOutput.ContainerStatus(reply.Status, PidOf(reply.Info)));
        return 0;
    }

    /// <summary>ps POD_ID: one "ID NAME STATE" line per container of the pod.</summary>
    public static async Task<int> List(RuntimeService.RuntimeServiceClient cri, CommandLine args, CallContext call)
    {
        args.AllowOnly();
        args.ExpectPositional(1, "ps POD_ID");
        var reply = await cri.ListContainersAsync(new ListContainersRequest
        {
            Filter = new ContainerFilter { PodSandboxId = args.Arg(0, "pod id") },
        }, call.Options()).ConfigureAwait(false);
        foreach (var c in reply.Containers)
            Console.WriteLine($"{c.Id} {c.Metadata?.Name ?? ""} {JsonOutput.StateName(c.State)}");
        return 0;
    }

    /// <summary>
    /// exec-sync ID [--exec-timeout SECONDS] -- CMD...: runs CMD in the container and prints
    /// {"stdout","stderr","exitCode"}; the client itself exits 0 whenever the RPC succeeded.
    /// </summary>
    public static async Task<int> ExecSync(RuntimeService.RuntimeServiceClient cri, CommandLine args, CallContext call)
    {
        args.AllowOnly("exec-timeout");
        args.ExpectPositional(1, "exec-sync ID [--exec-timeout SECONDS] -- CMD...");
        if (args.Rest.Count == 0) throw new UsageException("exec-sync: no command after --");
        var request = new ExecSyncRequest
        {
            ContainerId = args.Arg(0, "container id"),
            Timeout = args.LongOption("exec-timeout", 0),
        };
        request.Cmd.AddRange(args.Rest);
        var reply = await cri.ExecSyncAsync(request, call.Options()).ConfigureAwait(false);
        Console.WriteLine(JsonOutput.ExecResult(reply));
        return 0;
    }

    // containerd's verbose ContainerStatus carries {"pid": N, ...} under the key "info".
    private static long? PidOf(IDictionary<string, string> info)
    {
        if (!info.TryGetValue("info", out string? json)) return null;
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.TryGetProperty("pid", out var pid) && pid.TryGetInt64(out long n) ? n : null;
    }
}
