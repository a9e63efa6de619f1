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
    [JsonPropertyName("state")] public ContainerState State { get; set; } = new();
}
