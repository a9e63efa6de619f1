using System.Security.Cryptography;
using System.Text;

namespace Dune.Shim.Commands;

/// <summary>
/// Where a shim listens: a socket under /run/containerd/s named by a hash of containerd's
/// address, the namespace and the task id (short enough for sun_path, unique per task).
/// </summary>
internal static class SocketAddress
{
    public const string Directory = "/run/containerd/s";

    public static string PathFor(ShimOptions o)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{o.Address}/{o.Namespace}/{o.Id}"));
        return System.IO.Path.Combine(Directory, Convert.ToHexStringLower(hash));
    }

    public static string Uri(string path) => "unix://" + path;
}
