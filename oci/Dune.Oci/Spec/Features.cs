using System.Text.Json.Serialization;

namespace Dune.Oci.Spec;

// The OCI runtime "features" document (runtime-spec features.md) that `dune features` prints.

public sealed class Features
{
    [JsonPropertyName("ociVersionMin")] public string OciVersionMin { get; set; } = "1.0.0";
    [JsonPropertyName("ociVersionMax")] public string OciVersionMax { get; set; } = SpecVersion.Current;
    [JsonPropertyName("hooks")] public List<string> Hooks { get; set; } = new();
    [JsonPropertyName("mountOptions")] public List<string> MountOptions { get; set; } = new();
    [JsonPropertyName("linux")] public LinuxFeatures Linux { get; set; } = new();
    [JsonPropertyName("annotations")] public Dictionary<string, string> Annotations { get; set; } = new();
}

public sealed class LinuxFeatures
{
    [JsonPropertyName("namespaces")] public List<string> Namespaces { get; set; } = new();
    [JsonPropertyName("capabilities")] public List<string> Capabilities { get; set; } = new();
    [JsonPropertyName("cgroup")] public CgroupFeatures Cgroup { get; set; } = new();
    [JsonPropertyName("seccomp")] public SeccompFeatures Seccomp { get; set; } = new();
    [JsonPropertyName("apparmor")] public EnabledFeature Apparmor { get; set; } = new();
    [JsonPropertyName("selinux")] public EnabledFeature Selinux { get; set; } = new();
    [JsonPropertyName("intelRdt")] public EnabledFeature IntelRdt { get; set; } = new();
    [JsonPropertyName("mountExtensions")] public MountExtensions MountExtensions { get; set; } = new();
}

public sealed class CgroupFeatures
{
    [JsonPropertyName("v1")] public bool V1 { get; set; }
    [JsonPropertyName("v2")] public bool V2 { get; set; }
    [JsonPropertyName("systemd")] public bool Systemd { get; set; }
    [JsonPropertyName("systemdUser")] public bool SystemdUser { get; set; }
    [JsonPropertyName("rdma")] public bool Rdma { get; set; }
}

public sealed class SeccompFeatures
{
    [JsonPropertyName("enabled")] public bool Enabled { get; set; }
    [JsonPropertyName("actions")] public List<string> Actions { get; set; } = new();
    [JsonPropertyName("operators")] public List<string> Operators { get; set; } = new();
    [JsonPropertyName("archs")] public List<string> Archs { get; set; } = new();
    [JsonPropertyName("knownFlags")] public List<string> KnownFlags { get; set; } = new();
    [JsonPropertyName("supportedFlags")] public List<string> SupportedFlags { get; set; } = new();
}

public sealed class EnabledFeature
{
    [JsonPropertyName("enabled")] public bool Enabled { get; set; }
}

public sealed class MountExtensions
{
    [JsonPropertyName("idmap")] public EnabledFeature Idmap { get; set; } = new();
}
