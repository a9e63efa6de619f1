using Dune.Oci.Cgroups.Systemd;

namespace Dune.Oci.Cgroups;

/// <summary>What the managers read from the host; tests point it at a temporary tree.</summary>
internal sealed class CgroupEnvironment
{
    public CgroupEnvironment(string mountInfo, string procSelfCgroup, string fsRoot, bool systemdRunning, ICgroupDirOps dirOps)
    {
        MountInfo = mountInfo;
        ProcSelfCgroup = procSelfCgroup;
        FsRoot = fsRoot;
        SystemdRunning = systemdRunning;
        DirOps = dirOps;
    }

    /// <summary>Contents of /proc/self/mountinfo.</summary>
    public string MountInfo { get; }

    /// <summary>Contents of /proc/self/cgroup.</summary>
    public string ProcSelfCgroup { get; }

    /// <summary>Prefix for every mount point ("/" on the real host).</summary>
    public string FsRoot { get; }

    public bool SystemdRunning { get; }

    public ICgroupDirOps DirOps { get; }

    /// <summary>Where cgroup v2 device programs are attached.</summary>
    public IDeviceFilter DeviceFilter { get; init; } = KernelDeviceFilter.Instance;

    /// <summary>Opens a connection to systemd's manager (the systemd driver only).</summary>
    public Func<ISystemdClient> ConnectSystemd { get; init; } = SystemdDbusClient.Connect;

    /// <summary>Contents of /proc/devices (device group names for the systemd driver's DeviceAllow).</summary>
    public Func<string> ProcDevices { get; init; } = () => File.ReadAllText("/proc/devices");

    /// <summary>Patience for rmdir while dying tasks leave a cgroup.</summary>
    public TimeSpan RemovePatience { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Patience for the freezer to settle.</summary>
    public TimeSpan FreezePatience { get; init; } = TimeSpan.FromSeconds(10);

    public static CgroupEnvironment Host() => new(
        File.ReadAllText("/proc/self/mountinfo"),
        File.ReadAllText("/proc/self/cgroup"),
        "/",
        Directory.Exists("/run/systemd/system"),
        KernelCgroupDirOps.Instance);
}
