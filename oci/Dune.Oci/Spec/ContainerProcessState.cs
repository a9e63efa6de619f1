using System.Text.Json.Serialization;

namespace Dune.Oci.Spec;

/// <summary>
/// What a seccomp agent receives on <c>linux.seccomp.listenerPath</c> (runtime-spec
/// config-linux.md, "seccomp"): this document in one message whose SCM_RIGHTS carry the
/// descriptors named by <see cref="Fds"/>, in order.
/// </summary>
public sealed class ContainerProcessState
{
    /// <summary>The name of the seccomp notification descriptor in <see cref="Fds"/>.</summary>
    public const string SeccompFdName = "seccompFd";

    [JsonPropertyName("ociVersion")] public string OciVersion { get; set; } = SpecVersion.Current;
    [JsonPropertyName("fds")] public List<string> Fds { get; set; } = new();
    /// <summary>The process that loaded the filter: the container's init, or an exec'd process.</summary>
    [JsonPropertyName("pid")] public int Pid { get; set; }
    /// <summary>linux.seccomp.listenerMetadata, opaque to the runtime.</summary>
    [JsonPropertyName("metadata")] public string? Metadata { get; set; }
    [JsonPropertyName("state")] public OciState State { get; set; } = new();
}

/// <summary>
/// The state object of runtime.md, with its fields only (runc sends agents this, without the
/// rootfs, created and owner fields that `state` adds for containerd and docker).
/// </summary>
public sealed class OciState
{
    [JsonPropertyName("ociVersion")] public string OciVersion { get; set; } = SpecVersion.Current;
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("status")] public string Status { get; set; } = "";
    [JsonPropertyName("pid")] public int Pid { get; set; }
    [JsonPropertyName("bundle")] public string Bundle { get; set; } = "";
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; set; }

    public static OciState From(ContainerState s) => new()
    {
        OciVersion = s.OciVersion, Id = s.Id, Status = s.Status, Pid = s.Pid, Bundle = s.Bundle, Annotations = s.Annotations,
    };
}
