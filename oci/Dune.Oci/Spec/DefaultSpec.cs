namespace Dune.Oci.Spec;

/// <summary>The config.json `dune spec` writes: the same defaults as `runc spec`.</summary>
public static class DefaultSpec
{
    /// <param name="cgroupNamespace">
    /// Whether the default gets a cgroup namespace: `runc spec` adds one only on a pure cgroup v2
    /// host (<see cref="Cgroups.CgroupManagerFactory.HostIsUnified"/>). Tests written for runc add
    /// it themselves on v1 hosts, and a namespace listed twice is refused.
    /// </param>
    public static RuntimeSpec Create(bool rootless, bool cgroupNamespace = true)
    {
        var caps = new List<string> { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" };
        var spec = new RuntimeSpec
        {
            // runc 1.1's spec version: bundles stay portable to crun 1.8 and runc 1.1.
            OciVersion = SpecVersion.Bundle,
            Process = new Process
            {
                Terminal = true,
                User = new User { Uid = 0, Gid = 0 },
                Args = new() { "sh" },
                Env = new() { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm" },
                Cwd = "/",
                Capabilities = new Capabilities
                {
                    Bounding = new(caps), Effective = new(caps), Permitted = new(caps), Ambient = new(caps),
                },
                Rlimits = new() { new Rlimit { Type = "RLIMIT_NOFILE", Hard = 1024, Soft = 1024 } },
                NoNewPrivileges = true,
            },
            Root = new Root { Path = "rootfs", Readonly = true },
            Hostname = "dune",
            Mounts = new()
            {
                M("/proc", "proc", "proc"),
                M("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
                M("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
                M("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
                M("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
                M("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
                M("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid", "noexec", "nodev", "relatime", "ro"),
            },
            Linux = new Linux
            {
                Resources = new LinuxResources { Devices = new() { new LinuxDeviceCgroup { Allow = false, Access = "rwm" } } },
                Namespaces = new() { Ns("pid"), Ns("network"), Ns("ipc"), Ns("uts"), Ns("mount") },
                MaskedPaths = new()
                {
                    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
                },
                ReadonlyPaths = new() { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" },
            },
        };
        if (cgroupNamespace) spec.Linux.Namespaces.Add(Ns("cgroup"));
        if (rootless) MakeRootless(spec);
        return spec;
    }

    // As `runc spec --rootless`: a user namespace mapping the caller, no network namespace,
    // the host's /sys, and no cgroup limits (an unprivileged user cannot set them).
    private static void MakeRootless(RuntimeSpec spec)
    {
        var linux = spec.Linux!;
        linux.Resources = null;
        linux.Namespaces = linux.Namespaces!.Where(n => n.Type is not ("network" or "cgroup")).ToList();
        linux.Namespaces.Add(Ns("user"));
        uint uid = Oci.Interop.Identity.Uid, gid = Oci.Interop.Identity.Gid;
        linux.UidMappings = new() { new IdMapping { ContainerId = 0, HostId = uid, Size = 1 } };
        linux.GidMappings = new() { new IdMapping { ContainerId = 0, HostId = gid, Size = 1 } };
        spec.Mounts = spec.Mounts!.Where(m => m.Destination is not ("/sys" or "/sys/fs/cgroup")).ToList();
        spec.Mounts.Add(new Mount { Destination = "/sys", Type = "none", Source = "/sys", Options = new() { "rbind", "nosuid", "noexec", "nodev", "ro" } });
        foreach (var m in spec.Mounts.Where(m => m.Destination == "/dev/pts"))
            m.Options = m.Options!.Where(o => o != "gid=5").ToList();
        foreach (var m in spec.Mounts.Where(m => m.Destination == "/dev/mqueue"))
            m.Options = new() { "nosuid", "noexec", "nodev" };
    }

    private static Mount M(string dest, string type, string source, params string[] options) =>
        new() { Destination = dest, Type = type, Source = source, Options = options.Length > 0 ? options.ToList() : null };

    private static LinuxNamespace Ns(string type) => new() { Type = type };
}
