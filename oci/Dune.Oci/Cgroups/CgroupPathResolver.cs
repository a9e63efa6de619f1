namespace Dune.Oci.Cgroups;

/// <summary>A cgroupsPath turned into a clean path: absolute paths hang off each hierarchy's root, relative ones off the caller's own cgroup.</summary>
internal readonly record struct ResolvedCgroupPath(string Path, bool Relative);

internal static class CgroupPathResolver
{
    public static ResolvedCgroupPath Resolve(string? cgroupsPath, string containerId, bool systemd, bool systemdRunning)
    {
        if (systemd)
        {
            if (!systemdRunning)
                throw new CgroupException("systemd cgroup driver requested (--systemd-cgroup) but systemd is not running");
            return new ResolvedCgroupPath(SystemdToPath(cgroupsPath ?? "", containerId), false);
        }
        if (string.IsNullOrEmpty(cgroupsPath))
        {
            if (containerId.Length == 0 || containerId.Contains('/') || containerId == "." || containerId == "..")
                throw new CgroupException($"container id \"{containerId}\" cannot name a cgroup");
            return new ResolvedCgroupPath("/dune/" + containerId, false);
        }
        bool relative = !cgroupsPath.StartsWith('/');
        string clean = Clean(cgroupsPath);
        if (relative && clean == "/")
            throw new CgroupException($"cgroupsPath \"{cgroupsPath}\" names the caller's own cgroup");
        return new ResolvedCgroupPath(relative ? clean.Substring(1) : clean, relative);
    }

    // "/a//b/./c/" -> "/a/b/c"; ".." could leave the hierarchy, so it is refused.
    private static string Clean(string path)
    {
        var parts = new List<string>();
        foreach (string p in path.Split('/'))
        {
            if (p.Length == 0 || p == ".") continue;
            if (p == "..") throw new CgroupException($"cgroupsPath \"{path}\" must not contain \"..\"");
            parts.Add(p);
        }
        return "/" + string.Join('/', parts);
    }

    // "slice:prefix:name" -> "/a.slice/a-b.slice/prefix-name.scope", the directory systemd gives that unit.
    private static string SystemdToPath(string cgroupsPath, string containerId)
    {
        string[] parts = cgroupsPath.Length == 0 ? new[] { "", "dune", containerId } : cgroupsPath.Split(':');
        if (parts.Length != 3)
            throw new CgroupException($"cgroupsPath \"{cgroupsPath}\" must have the form \"slice:prefix:name\" for the systemd cgroup driver");
        string slice = parts[0].Length == 0 ? "system.slice" : parts[0];
        string name = parts[2];
        if (name.Length == 0 || name.Contains('/') || parts[1].Contains('/'))
            throw new CgroupException($"cgroupsPath \"{cgroupsPath}\": invalid systemd unit name");
        string unit = name.EndsWith(".slice", StringComparison.Ordinal) ? name
            : (parts[1].Length == 0 ? name : parts[1] + "-" + name) + ".scope";
        return ExpandSlice(slice, cgroupsPath) + "/" + unit;
    }

    private static string ExpandSlice(string slice, string cgroupsPath)
    {
        const string suffix = ".slice";
        if (!slice.EndsWith(suffix, StringComparison.Ordinal) || slice.Contains('/'))
            throw new CgroupException($"cgroupsPath \"{cgroupsPath}\": \"{slice}\" is not a systemd slice name");
        if (slice == "-.slice") return "";
        string stem = slice.Substring(0, slice.Length - suffix.Length);
        if (stem.Length == 0 || stem.StartsWith('-') || stem.EndsWith('-') || stem.Contains("--"))
            throw new CgroupException($"cgroupsPath \"{cgroupsPath}\": \"{slice}\" is not a valid slice name");
        var path = new System.Text.StringBuilder();
        string[] pieces = stem.Split('-');
        string prefix = "";
        foreach (string piece in pieces)
        {
            prefix = prefix.Length == 0 ? piece : prefix + "-" + piece;
            path.Append('/').Append(prefix).Append(suffix);
        }
        return path.ToString();
    }
}
