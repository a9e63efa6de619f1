namespace Dune.Oci.Cgroups;

/// <summary>Freezer state of a container's cgroup; Undefined when no freezer is available.</summary>
public enum FreezerState
{
    Undefined,
    Thawed,
    Freezing,
    Frozen,
}
