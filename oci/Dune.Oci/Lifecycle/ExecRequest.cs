using Dune.Oci.Spec;

namespace Dune.Oci.Lifecycle;

/// <summary>The flags of `exec`, already merged into an OCI process.</summary>
public sealed record ExecRequest
{
    public required string Id { get; init; }
    public required Process Process { get; init; }
    public bool Detach { get; init; }
    public string? PidFile { get; init; }
    public string? ConsoleSocket { get; init; }
    public int PreserveFds { get; init; }

    /// <summary>--ignore-paused: exec into a paused container (the process runs once it is resumed).</summary>
    public bool IgnorePaused { get; init; }

    /// <summary>--cgroup, parsed by <see cref="SubCgroupPaths.Parse"/>: sub-cgroups to run the process in.</summary>
    public IReadOnlyDictionary<string, string> SubCgroups { get; init; } = new Dictionary<string, string>();
}
