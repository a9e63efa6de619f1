using System.Text.Json.Serialization;
using Dune.Oci.Spec;

namespace Dune.Cli;

/// <summary>
/// One entry of `list --format json`: runc 1.1's field set and order (ociVersion, id, pid,
/// status, bundle, rootfs, created, annotations when there are any, owner), one line for all.
/// </summary>
internal sealed class ListedContainer
{
    [JsonPropertyName("ociVersion")] public string OciVersion { get; init; } = "";
    [JsonPropertyName("id")] public string Id { get; init; } = "";
    [JsonPropertyName("pid")] public int Pid { get; init; }
    [JsonPropertyName("status")] public string Status { get; init; } = "";
    [JsonPropertyName("bundle")] public string Bundle { get; init; } = "";
    [JsonPropertyName("rootfs")] public string Rootfs { get; init; } = "";
    [JsonPropertyName("created")] public string Created { get; init; } = "";
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; init; }
    [JsonPropertyName("owner")] public string Owner { get; init; } = "";

    /// <summary>Go's RFC 3339 with nanoseconds (trailing zeros dropped), as runc prints it.</summary>
    public static string Timestamp(DateTime t) => t.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFZ");

    public static ListedContainer From(ContainerState s) => new()
    {
        OciVersion = s.OciVersion,
        Id = s.Id,
        Pid = s.Pid,
        Status = s.Status,
        Bundle = s.Bundle,
        Rootfs = s.Rootfs,
        Created = Timestamp(s.Created),
        Annotations = s.Annotations is { Count: > 0 } a ? a : null,
        // runc lists the owner of the state directory; dune keeps it only when not root.
        Owner = s.Owner.Length > 0 ? s.Owner : "root",
    };
}
