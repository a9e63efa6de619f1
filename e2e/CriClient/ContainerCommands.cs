using System.CommandLine;
using System.Text.Json;
using Dune.E2e.CriClient.Cri;

namespace Dune.E2e.CriClient;

/// <summary>Container subcommands: create, start, stop, rm, status, ps, exec-sync.</summary>
internal static class ContainerCommands
{
    public static IEnumerable<Command> Build()
    {
        // POD_NAME and --log-dir rebuild the sandbox configuration run-pod sent.
        var pod = new Argument<string>("pod-id");
        var podName = new Argument<string>("pod-name");
        var name = new Argument<string>("name");
        var image = new Argument<string>("image");
        var command = Command("the container's command line (after --)");
        var logDir = new Option<string?>("--log-dir") { Description = "the pod's log directory" };
        var env = new Option<string[]>("--env") { Description = "K=V, repeatable" };
        env.Validators.Add(result =>
        {
            foreach (var t in result.Tokens)
                if (t.Value.IndexOf('=') <= 0) result.AddError($"--env wants KEY=VALUE, got {t.Value}");
        });
        yield return CriCall.Command("create", "creates a container in the pod; prints its id", async (r, cri, call) =>
        {
            string? dir = r.GetValue(logDir);
            var reply = await cri.CreateContainerAsync(new CreateContainerRequest
            {
                PodSandboxId = r.GetValue(pod)!,
                SandboxConfig = PodSpecs.Sandbox(r.GetValue(podName)!, dir),
                Config = PodSpecs.Container(r.GetValue(name)!, r.GetValue(image)!, r.GetValue(command)!,
                    r.GetValue(env) ?? [], logToFile: dir is not null),
            }, call).ConfigureAwait(false);
            Console.WriteLine(reply.ContainerId);
        }, pod, podName, name, image, command, logDir, env);

        var startId = ContainerId();
        yield return CriCall.Command("start", "starts the container", async (r, cri, call) =>
            await cri.StartContainerAsync(new StartContainerRequest { ContainerId = r.GetValue(startId)! }, call).ConfigureAwait(false), startId);

        var stopId = ContainerId();
        var grace = new Option<long>("--grace") { Description = "seconds between the stop signal and SIGKILL" };
        yield return CriCall.Command("stop", "stops the container: its stop signal, SIGKILL after the grace period", async (r, cri, call) =>
            await cri.StopContainerAsync(new StopContainerRequest { ContainerId = r.GetValue(stopId)!, Timeout = r.GetValue(grace) }, call)
                .ConfigureAwait(false), stopId, grace);

        var rmId = ContainerId();
        yield return CriCall.Command("rm", "removes the container", async (r, cri, call) =>
            await cri.RemoveContainerAsync(new RemoveContainerRequest { ContainerId = r.GetValue(rmId)! }, call).ConfigureAwait(false), rmId);

        var statusId = ContainerId();
        yield return CriCall.Command("status", "prints the container's status as JSON, with the pid containerd reports", async (r, cri, call) =>
        {
            var reply = await cri.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = r.GetValue(statusId)!, Verbose = true }, call)
                .ConfigureAwait(false);
            Console.WriteLine(JsonOutput.ContainerStatus(reply.Status, PidOf(reply.Info)));
        }, statusId);

        var psPod = new Argument<string>("pod-id");
        yield return CriCall.Command("ps", "prints one \"ID NAME STATE\" line per container of the pod", async (r, cri, call) =>
        {
            var reply = await cri.ListContainersAsync(new ListContainersRequest
            {
                Filter = new ContainerFilter { PodSandboxId = r.GetValue(psPod)! },
            }, call).ConfigureAwait(false);
            foreach (var c in reply.Containers)
                Console.WriteLine($"{c.Id} {c.Metadata?.Name ?? ""} {JsonOutput.StateName(c.State)}");
        }, psPod);

        // The client exits 0 whenever the RPC succeeded: the command's status is in the JSON.
        var execId = ContainerId();
        var execCommand = Command("the command to run (after --)");
        execCommand.Arity = ArgumentArity.OneOrMore;
        var execTimeout = new Option<long>("--exec-timeout") { Description = "seconds the command may run (0: no limit)" };
        yield return CriCall.Command("exec-sync", "runs a command in the container; prints {stdout, stderr, exitCode}", async (r, cri, call) =>
        {
            var request = new ExecSyncRequest { ContainerId = r.GetValue(execId)!, Timeout = r.GetValue(execTimeout) };
            request.Cmd.AddRange(r.GetValue(execCommand)!);
            Console.WriteLine(JsonOutput.ExecResult(await cri.ExecSyncAsync(request, call).ConfigureAwait(false)));
        }, execId, execCommand, execTimeout);
    }

    private static Argument<string> ContainerId() => new("container-id");

    private static Argument<string[]> Command(string description) =>
        new("command") { Description = description, Arity = ArgumentArity.ZeroOrMore };

    // containerd's verbose ContainerStatus carries {"pid": N, ...} under the key "info".
    private static long? PidOf(IDictionary<string, string> info)
    {
        if (!info.TryGetValue("info", out string? json)) return null;
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.TryGetProperty("pid", out var pid) && pid.TryGetInt64(out long n) ? n : null;
    }
}
