using Dune.Oci.Cgroups.Systemd;

namespace Dune.Oci.Cgroups;

/// <summary>Picks the cgroup v1/hybrid or v2 manager for this host and resolves the container's cgroupsPath.</summary>
public static class CgroupManagerFactory
{
    /// <param name="cgroupsPath">linux.cgroupsPath: "/a/b" (from each hierarchy's root), "a/b" (below the caller's own cgroup), empty ("/dune/&lt;id&gt;"), or "slice:prefix:name" with <paramref name="systemd"/>.</param>
    public static ICgroupManager Open(string? cgroupsPath, string containerId, bool systemd) =>
        Open(cgroupsPath, containerId, systemd, CgroupEnvironment.Host());

    /// <summary>Whether /sys/fs/cgroup is a cgroup2 mount (a pure v2 host), as runc's IsCgroup2UnifiedMode asks.</summary>
    public static bool HostIsUnified() => File.Exists("/sys/fs/cgroup/cgroup.controllers");

    internal static ICgroupManager Open(string? cgroupsPath, string containerId, bool systemd, CgroupEnvironment env)
    {
        if (systemd)
        {
            if (!env.SystemdRunning)
                throw new CgroupException("systemd cgroup driver requested (--systemd-cgroup) but systemd is not running");
            var unit = SystemdUnit.Parse(cgroupsPath, containerId);
            var layout = CgroupLayout.Parse(env.MountInfo, env.ProcSelfCgroup, env.FsRoot);
            // The unit's directory hangs off each hierarchy's root, as systemd (pid 1) sees it.
            return new SystemdCgroupManager(Cgroupfs(layout, new ResolvedCgroupPath(unit.CgroupPath, false), env),
                unit, containerId, layout.Mode == CgroupMode.V2, env.ConnectSystemd, env.ProcDevices);
        }
        var path = CgroupPathResolver.Resolve(cgroupsPath, containerId);
        return Cgroupfs(CgroupLayout.Parse(env.MountInfo, env.ProcSelfCgroup, env.FsRoot), path, env);
    }

    private static ICgroupManager Cgroupfs(CgroupLayout layout, ResolvedCgroupPath path, CgroupEnvironment env) =>
        layout.Mode == CgroupMode.V2
            ? new V2CgroupManager(layout, path, env)
            : new V1CgroupManager(layout, path, env);
}
