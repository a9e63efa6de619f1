using Dune.Oci.Spec;

namespace Dune.Oci.Cgroups;

// PLACEHOLDER for compilation until the cgroups branch is merged (replaced by it).
public sealed class CgroupException : Exception { public CgroupException(string m) : base(m) { } }
public enum FreezerState { Thawed, Freezing, Frozen }
public sealed class CgroupStats { }
public interface ICgroupManager
{
    string Path { get; }
    void Create(LinuxResources? resources);
    IReadOnlyList<string> ProcsFiles { get; }
    void Update(LinuxResources resources);
    void Freeze(); void Thaw(); FreezerState GetFreezerState();
    IReadOnlyList<int> GetPids();
    CgroupStats GetStats();
    bool OomKilled();
    void Destroy();
}
public static class CgroupManagerFactory
{
    public static ICgroupManager Open(string? cgroupsPath, string containerId, bool systemd) => throw new CgroupException("placeholder");
}
[System.Text.Json.Serialization.JsonSerializable(typeof(CgroupStats))]
public sealed partial class CgroupJsonContext : System.Text.Json.Serialization.JsonSerializerContext { }
