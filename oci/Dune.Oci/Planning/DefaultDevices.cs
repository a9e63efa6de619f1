using Dune.Oci.Spec;

namespace Dune.Oci.Planning;

/// <summary>The devices every Linux container gets (runtime-spec "Default Devices").</summary>
public static class DefaultDevices
{
    public static IReadOnlyList<LinuxDevice> All { get; } = new[]
    {
        Char("/dev/null", 1, 3), Char("/dev/zero", 1, 5), Char("/dev/full", 1, 7),
        Char("/dev/random", 1, 8), Char("/dev/urandom", 1, 9), Char("/dev/tty", 5, 0),
    };

    private static LinuxDevice Char(string path, long major, long minor) =>
        new() { Path = path, Type = "c", Major = major, Minor = minor, FileMode = 0x1b6 /* 0666 */, Uid = 0, Gid = 0 };

    /// <summary>The symlinks under /dev that programs expect (fd, stdio, ptmx).</summary>
    public static IReadOnlyList<(string Target, string Link)> Symlinks { get; } = new[]
    {
        ("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"),
        ("/proc/self/fd/1", "/dev/stdout"), ("/proc/self/fd/2", "/dev/stderr"),
        ("pts/ptmx", "/dev/ptmx"),
    };
}
