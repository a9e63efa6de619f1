namespace Dune.Oci.Cgroups;

/// <summary>One mounted cgroup hierarchy: a v1 hierarchy (one or more co-mounted controllers, or a named one) or the v2 unified one.</summary>
internal sealed class CgroupHierarchy
{
    public CgroupHierarchy(bool unified, IReadOnlyList<string> controllers, string mountPoint, string ownDir)
    {
        Unified = unified;
        Controllers = controllers;
        MountPoint = mountPoint;
        OwnDir = ownDir;
    }

    /// <summary>True for a cgroup2 mount.</summary>
    public bool Unified { get; }

    /// <summary>v1: the controllers of the hierarchy ("cpu", "cpuacct", "name=systemd"); v2: empty.</summary>
    public IReadOnlyList<string> Controllers { get; }

    /// <summary>Where the hierarchy is visible, already prefixed with the filesystem root.</summary>
    public string MountPoint { get; }

    /// <summary>The directory of the calling process's own cgroup in this hierarchy.</summary>
    public string OwnDir { get; }

    public override string ToString() => Unified ? "cgroup2" : string.Join(',', Controllers);
}
