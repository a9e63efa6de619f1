using Dune.E2e.CriClient.Cri;

namespace Dune.E2e.CriClient;

/// <summary>
/// The sandbox and container configurations the client sends. The sandbox configuration is a
/// function of the pod name and log directory only, so that `create` can send the same
/// configuration `run-pod` used, as a kubelet does.
/// </summary>
internal static class PodSpecs
{
    /// <summary>The Kubernetes namespace the test pods claim to belong to.</summary>
    public const string PodNamespace = "dune-e2e";

    public static PodSandboxConfig Sandbox(string podName, string? logDirectory) => new()
    {
        Metadata = new PodSandboxMetadata { Name = podName, Uid = podName + "-uid", Namespace = PodNamespace },
        LogDirectory = logDirectory ?? "",
        Labels = { ["dune-e2e/pod"] = podName },
        Linux = new LinuxPodSandboxConfig
        {
            SecurityContext = new LinuxSandboxSecurityContext
            {
                // Host networking: the pod needs no CNI plugin. PID and IPC stay per pod.
                NamespaceOptions = new NamespaceOption { Network = NamespaceMode.Node, Pid = NamespaceMode.Pod, Ipc = NamespaceMode.Pod },
            },
        },
    };

    public static ContainerConfig Container(string name, string image, IReadOnlyList<string> command,
        IEnumerable<string> environment, bool logToFile)
    {
        var config = new ContainerConfig
        {
            Metadata = new ContainerMetadata { Name = name },
            Image = new ImageSpec { Image = image },
            LogPath = logToFile ? name + ".log" : "",
            Labels = { ["dune-e2e/container"] = name },
            Linux = new LinuxContainerConfig
            {
                SecurityContext = new LinuxContainerSecurityContext
                {
                    NamespaceOptions = new NamespaceOption { Network = NamespaceMode.Node, Pid = NamespaceMode.Pod, Ipc = NamespaceMode.Pod },
                },
            },
        };
        config.Command.AddRange(command);
        foreach (string kv in environment)
        {
            int eq = kv.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"environment entry is not KEY=VALUE: {kv}", nameof(environment));
            config.Envs.Add(new KeyValue { Key = kv[..eq], Value = kv[(eq + 1)..] });
        }
        return config;
    }
}
