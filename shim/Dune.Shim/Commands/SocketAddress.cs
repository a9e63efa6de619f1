using System.IO.Hashing;
using System.Text;
using System.Text.Json;

namespace Dune.Shim.Commands;

/// <summary>
/// Where a shim listens: a socket under /run/containerd/s named by a hash of containerd's
/// address, the namespace and the group (short enough for sun_path). The group is the pod's
/// sandbox id when the bundle's config.json carries the CRI annotation, so that a pod's
/// containers share one shim; otherwise the task id. The hash only has to be stable and
/// unlikely to collide: XxHash128 is managed code, where SHA-256 would load OpenSSL into
/// every shim process (a few ms of each container's start).
/// </summary>
internal static class SocketAddress
{
    public const string Directory = "/run/containerd/s";
    public const string SandboxIdAnnotation = "io.kubernetes.cri.sandbox-id";

    public static string PathFor(ShimOptions o) => PathFor(o, GroupOf(o.Bundle, o.Id));

    public static string PathFor(ShimOptions o, string group)
    {
        var hash = XxHash128.Hash(Encoding.UTF8.GetBytes($"{o.Address}/{o.Namespace}/{group}"));
        return System.IO.Path.Combine(Directory, Convert.ToHexStringLower(hash));
    }

    /// <summary>The sandbox id annotation of BUNDLE/config.json, else ID.</summary>
    public static string GroupOf(string bundle, string id)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(System.IO.Path.Combine(bundle, "config.json")));
            if (doc.RootElement.TryGetProperty("annotations", out var annotations) &&
                annotations.ValueKind == JsonValueKind.Object &&
                annotations.TryGetProperty(SandboxIdAnnotation, out var sandbox) &&
                sandbox.ValueKind == JsonValueKind.String && sandbox.GetString() is { Length: > 0 } group)
                return group;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            // no readable config: the task is its own group
        }
        return id;
    }

    public static string Uri(string path) => "unix://" + path;
}
