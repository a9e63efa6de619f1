using System.Text.Json.Serialization;

namespace Dune.Oci.Spec;

// Source-generated JSON (no reflection: the CLI is NativeAOT).
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(RuntimeSpec))]
[JsonSerializable(typeof(LinuxResources))]
[JsonSerializable(typeof(LinuxSeccomp))]
[JsonSerializable(typeof(Process))]
[JsonSerializable(typeof(ContainerState))]
[JsonSerializable(typeof(List<ContainerState>))]
[JsonSerializable(typeof(ContainerProcessState))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(List<int>))]
public sealed partial class SpecJsonContext : JsonSerializerContext
{
}
