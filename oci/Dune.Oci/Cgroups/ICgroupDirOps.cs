namespace Dune.Oci.Cgroups;

/// <summary>mkdir/rmdir of cgroup directories; tests substitute a fake that behaves like cgroupfs.</summary>
internal interface ICgroupDirOps
{
    void MakeDir(string dir);
    void RemoveDir(string dir);
}

/// <summary>The real cgroupfs: the kernel fills a new directory with control files and rmdir removes it with them.</summary>
internal sealed class KernelCgroupDirOps : ICgroupDirOps
{
    public static readonly KernelCgroupDirOps Instance = new();

    public void MakeDir(string dir) => Directory.CreateDirectory(dir);

    // Non-recursive Directory.Delete is a plain rmdir(2), which cgroupfs accepts despite the control files.
    public void RemoveDir(string dir) => Directory.Delete(dir, recursive: false);
}
