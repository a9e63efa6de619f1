namespace Dune.Oci.Cgroups;

/// <summary>Where a cgroup v2 device program goes; tests substitute a fake that records it.</summary>
internal interface IDeviceFilter
{
    /// <summary>
    /// Makes <paramref name="program"/> the device program of the cgroup directory <paramref name="dir"/>,
    /// replacing the one there; a program that allows everything leaves none attached.
    /// </summary>
    void Install(string dir, DeviceProgram program);

    /// <summary>Detaches every device program attached to <paramref name="dir"/>; a missing directory has none.</summary>
    void Remove(string dir);
}
