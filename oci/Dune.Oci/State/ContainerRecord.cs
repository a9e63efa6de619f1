using System.Text.Json.Serialization;
using Dune.Oci.Spec;

namespace Dune.Oci.State;

/// <summary>What `dune` keeps about a container between commands (state.json in its state dir).</summary>
public sealed class ContainerRecord
{
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("bundle")] public string Bundle { get; set; } = "";
    [JsonPropertyName("rootfs")] public string Rootfs { get; set; } = "";
    [JsonPropertyName("created")] public DateTime Created { get; set; }
    [JsonPropertyName("owner")] public string Owner { get; set; } = "";
    /// <summary>Host pid of the container's init; 0 while create has not cloned it yet.</summary>
    [JsonPropertyName("initPid")] public int InitPid { get; set; }
    /// <summary>The init's start time (field 22 of /proc/PID/stat), so a recycled pid is not taken for it.</summary>
    [JsonPropertyName("initStartTime")] public ulong InitStartTime { get; set; }
    /// <summary>True until create has finished; a record left so by a crash reads as stopped.</summary>
    [JsonPropertyName("creating")] public bool Creating { get; set; }
    [JsonPropertyName("cgroupsPath")] public string CgroupsPath { get; set; } = "";
    [JsonPropertyName("systemdCgroup")] public bool SystemdCgroup { get; set; }
    [JsonPropertyName("mode")] public string Mode { get; set; } = DuneMode.Native;
    [JsonPropertyName("config")] public RuntimeSpec Config { get; set; } = new();
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ContainerRecord))]
public sealed partial class StateJsonContext : JsonSerializerContext
{
}
