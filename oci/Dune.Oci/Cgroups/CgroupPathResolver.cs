namespace Dune.Oci.Cgroups;

/// <summary>A cgroupsPath turned into a clean path: absolute paths hang off each hierarchy's root, relative ones off the caller's own cgroup.</summary>
internal readonly record struct ResolvedCgroupPath(string Path, bool Relative);

internal static class CgroupPathResolver
{
    /// <summary>The cgroupfs driver's paths; the systemd driver's "slice:prefix:name" is <see cref="Systemd.SystemdUnit"/>.</summary>
    public static ResolvedCgroupPath Resolve(string? cgroupsPath, string containerId)
    {
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
}
