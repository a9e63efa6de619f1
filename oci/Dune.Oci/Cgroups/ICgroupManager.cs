using Dune.Oci.Spec;

namespace Dune.Oci.Cgroups;

/// <summary>The cgroup(s) of one container, whichever cgroup version the host runs.</summary>
public interface ICgroupManager
{
    /// <summary>The cgroupsPath in use: the config value normalised, "/dune/&lt;id&gt;" when it was empty.</summary>
    string Path { get; }

    /// <summary>The cgroup directories of the container, one per hierarchy (v1/hybrid) or one (v2).</summary>
    IReadOnlyList<string> Directories { get; }

    /// <summary>Files a process writes its pid into to join the container's cgroup(s).</summary>
    IReadOnlyList<string> ProcsFiles { get; }

    /// <summary>
    /// The same joins for a single-threaded process moving itself (it writes "0"): each v1
    /// hierarchy's <c>tasks</c> file, which moves only the writing thread and so spares the
    /// kernel's global threadgroup lock and the RCU grace period it costs (about 10 ms on
    /// these hosts), and <c>cgroup.procs</c> of a cgroup2 hierarchy, which has no such file.
    /// </summary>
    IReadOnlyList<string> SelfJoinFiles { get; }

    /// <summary>
    /// Where a process joins cgroup2 when the container's own directory refuses it (EBUSY: the
    /// container moved its init into a sub-cgroup and enabled a domain controller there): the
    /// cgroup.procs of <paramref name="initPid"/>'s cgroup when it lies below the container's,
    /// else null. runc's exec falls back to the init's cgroup the same way.
    /// </summary>
    string? InitSubCgroupProcsFile(int initPid);

    /// <summary>Creates the cgroup directories and applies <paramref name="resources"/>.</summary>
    void Create(LinuxResources? resources);

    /// <summary>
    /// Tells the driver the container's init <paramref name="pid"/> once it exists (it has
    /// joined the directories <see cref="Create"/> made): the systemd driver starts its unit
    /// around it here. The cgroupfs drivers have nothing left to do.
    /// </summary>
    void Apply(int pid);

    /// <summary>Applies only what <paramref name="resources"/> sets (`dune update`).</summary>
    void Update(LinuxResources resources);

    /// <summary>Freezes every process of the cgroup and waits until the kernel reports it frozen.</summary>
    void Freeze();

    /// <summary>Thaws the cgroup and waits until the kernel reports it thawed.</summary>
    void Thaw();

    FreezerState GetFreezerState();

    /// <summary>
    /// SIGKILL to every process of the cgroup and of every cgroup below it, in one write of "1"
    /// to the cgroup2 <c>cgroup.kill</c> file (Linux 5.14+; on hybrid hosts the container's
    /// directory in the cgroup2 mount). False, having done nothing, where that file does not
    /// exist: the caller then signals each pid.
    /// </summary>
    bool TryKillAll();

    /// <summary>Every pid in the cgroup and its descendants, sorted.</summary>
    IReadOnlyList<int> GetPids();

    CgroupStats GetStats();

    /// <summary>Whether the kernel OOM-killed a process of this cgroup.</summary>
    bool OomKilled();

    /// <summary>Removes the container's cgroup directories (descendants first); idempotent.</summary>
    void Destroy();
}
