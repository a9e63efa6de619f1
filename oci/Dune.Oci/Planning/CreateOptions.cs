using Dune.Oci.Seccomp;
using Dune.Oci.Spec;

namespace Dune.Oci.Planning;

/// <summary>Everything the create planner decides from: the spec plus what `dune create` resolved.</summary>
public sealed record CreateOptions
{
    public required string Id { get; init; }
    public required string Bundle { get; init; }
    public required string Rootfs { get; init; }
    public required RuntimeSpec Spec { get; init; }
    public required string ExecFifo { get; init; }
    /// <summary>The files the init joins its cgroups through, one per hierarchy (ICgroupManager.SelfJoinFiles).</summary>
    public IReadOnlyList<string> CgroupJoinFiles { get; init; } = Array.Empty<string>();
    /// <summary>The container's cgroup directories (one per v1 hierarchy, or the v2 one).</summary>
    public IReadOnlyList<string> CgroupDirectories { get; init; } = Array.Empty<string>();
    /// <summary>True when the host mounts v1 hierarchies under /sys/fs/cgroup/NAME (v1 or hybrid).</summary>
    public bool CgroupV1 { get; init; }
    public SeccompProgram? Seccomp { get; init; }
    public bool NoPivot { get; init; }
    public bool NoNewKeyring { get; init; }
    /// <summary>dune-init's fd number of the console socket, when process.terminal is set.</summary>
    public int? ConsoleFd { get; init; }
    public int LastCap { get; init; } = 40;
    /// <summary>Set in Dune mode: the process runs under dune-run.</summary>
    public DuneProcess? Dune { get; init; }
}
