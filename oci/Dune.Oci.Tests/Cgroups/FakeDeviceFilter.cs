using Dune.Oci.Cgroups;

namespace Dune.Oci.Tests.Cgroups;

/// <summary>Records the device program of each cgroup directory instead of loading it (FakeCgroupFs).</summary>
internal sealed class FakeDeviceFilter : IDeviceFilter
{
    public Dictionary<string, DeviceProgram> Attached { get; } = new(StringComparer.Ordinal);

    public int Installs { get; private set; }

    public void Install(string dir, DeviceProgram program)
    {
        if (!Directory.Exists(dir)) throw new CgroupException($"opening cgroup directory {dir} for its device program failed: No such file or directory");
        Installs++;
        if (program.AllowsEverything) Attached.Remove(dir);
        else Attached[dir] = program;
    }

    public void Remove(string dir) => Attached.Remove(dir);
}
