using Dune.Shim.Processes;
using Dune.Shim.Runtime;

namespace Dune.Shim.Service;

/// <summary>
/// One container a shim serves (a pod's containers share one shim): its bundle, the dune
/// CLI logging into that bundle, its init and exec'd processes. Mutable state is guarded by
/// the task service's lock.
/// </summary>
internal sealed class ShimContainer(string id, string bundle, DuneCli dune)
{
    public string Id { get; } = id;
    public string Bundle { get; } = bundle;
    public DuneCli Dune { get; } = dune;
    public ShimProcess? Init { get; set; }
    public bool RootfsMounted { get; set; }
    /// <summary>The container's cgroup2 directory on a pure cgroup v2 host (the init's, read at create), else null.</summary>
    public string? CgroupV2Dir { get; set; }
    public bool Deleted { get; set; }
    public Dictionary<string, ShimProcess> Execs { get; } = new();

    public string Rootfs => Path.Combine(Bundle, "rootfs");
}
