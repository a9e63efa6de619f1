using System.Text.Json.Serialization;

namespace Dune.Oci.Spec;

// The state document of the runtime-spec, with runc's extra fields (rootfs, created, owner)
// that containerd and docker read from `state`.
public sealed class ContainerState
{
    [JsonPropertyName("ociVersion")] public string OciVersion { get; set; } = SpecVersion.Current;
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("pid")] public int Pid { get; set; }
    [JsonPropertyName("status")] public string Status { get; set; } = "";
    [JsonPropertyName("bundle")] public string Bundle { get; set; } = "";
    [JsonPropertyName("rootfs")] public string Rootfs { get; set; } = "";
    [JsonPropertyName("created")] public DateTime Created { get; set; }
    [JsonPropertyName("owner")] public string Owner { get; set; } = "";
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; set; }
}

public static class SpecVersion
{
    /// <summary>The runtime-spec version this runtime implements and writes into state and `spec`.</summary>
    public const string Current = "1.2.0";

    /// <summary>The version `dune spec` writes into new bundles.</summary>
    public const string Bundle = "1.0.2-dev";
}
