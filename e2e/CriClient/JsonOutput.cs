using System.Text;
using System.Text.Json;
using Dune.E2e.CriClient.Cri;

namespace Dune.E2e.CriClient;

/// <summary>The JSON documents the status commands print (one object, one line), for jq.</summary>
internal static class JsonOutput
{
    public static string PodStatus(PodSandboxStatus s) => Write(w =>
    {
        w.WriteString("id", s.Id);
        w.WriteString("name", s.Metadata?.Name ?? "");
        w.WriteString("state", s.State == PodSandboxState.SandboxReady ? "SANDBOX_READY" : "SANDBOX_NOTREADY");
        w.WriteString("runtimeHandler", s.RuntimeHandler);
        w.WriteString("network", ModeName(s.Linux?.Namespaces?.Options?.Network ?? NamespaceMode.Pod));
        w.WriteNumber("createdAt", s.CreatedAt);
    });

    public static string ContainerStatus(Cri.ContainerStatus s, long? pid) => Write(w =>
    {
        w.WriteString("id", s.Id);
        w.WriteString("name", s.Metadata?.Name ?? "");
        w.WriteString("state", StateName(s.State));
        w.WriteNumber("exitCode", s.ExitCode);
        w.WriteString("reason", s.Reason);
        w.WriteString("message", s.Message);
        w.WriteString("image", s.Image?.Image ?? "");
        w.WriteString("logPath", s.LogPath);
        w.WriteNumber("startedAt", s.StartedAt);
        w.WriteNumber("finishedAt", s.FinishedAt);
        if (pid is long p) w.WriteNumber("pid", p);
    });

    public static string ExecResult(ExecSyncResponse r) => Write(w =>
    {
        w.WriteString("stdout", r.Stdout.ToStringUtf8());
        w.WriteString("stderr", r.Stderr.ToStringUtf8());
        w.WriteNumber("exitCode", r.ExitCode);
    });

    public static string Version(VersionResponse r) => Write(w =>
    {
        w.WriteString("version", r.Version);
        w.WriteString("runtimeName", r.RuntimeName);
        w.WriteString("runtimeVersion", r.RuntimeVersion);
        w.WriteString("runtimeApiVersion", r.RuntimeApiVersion);
    });

    public static string StateName(ContainerState state) => state switch
    {
        ContainerState.ContainerCreated => "CONTAINER_CREATED",
        ContainerState.ContainerRunning => "CONTAINER_RUNNING",
        ContainerState.ContainerExited => "CONTAINER_EXITED",
        _ => "CONTAINER_UNKNOWN",
    };

    private static string ModeName(NamespaceMode mode) => mode switch
    {
        NamespaceMode.Pod => "POD",
        NamespaceMode.Container => "CONTAINER",
        NamespaceMode.Node => "NODE",
        _ => "TARGET",
    };

    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
