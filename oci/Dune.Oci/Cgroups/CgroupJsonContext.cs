using System.Text.Json.Serialization;

namespace Dune.Oci.Cgroups;

// Source-generated JSON for the stats (no reflection: the CLI is NativeAOT).
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = false)]
[JsonSerializable(typeof(CgroupStats))]
public sealed partial class CgroupJsonContext : JsonSerializerContext
{
}
