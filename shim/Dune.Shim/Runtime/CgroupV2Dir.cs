namespace Dune.Shim.Runtime;

/// <summary>Where a process's cgroup is on a pure cgroup v2 host (/sys/fs/cgroup is the cgroup2 mount).</summary>
internal static class CgroupV2Dir
{
    public const string Mount = "/sys/fs/cgroup";

    /// <summary>Whether this host runs cgroup v2 alone, as containerd decides which metrics type to expect.</summary>
    public static bool HostIsUnified() => File.Exists(Path.Combine(Mount, "cgroup.controllers"));

    /// <summary>The cgroup2 directory of PID from its "0::PATH" line in /proc/PID/cgroup; null when there is none.</summary>
    public static string? Of(int pid) => FromProcCgroup(File.ReadAllText($"/proc/{pid}/cgroup"), Mount);

    public static string? FromProcCgroup(string procCgroup, string mount)
    {
        foreach (string line in procCgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.StartsWith("0::", StringComparison.Ordinal)) continue;
            string path = line.Substring(3).TrimEnd();
            // "(deleted)" follows the path of a removed cgroup.
            if (path.EndsWith(" (deleted)", StringComparison.Ordinal)) return null;
            return path == "/" ? mount : mount + path;
        }
        return null;
    }
}
