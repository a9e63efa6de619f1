using System.Text.Json.Serialization;
using Dune.Oci.Spec;

namespace Dune.Cli;

/// <summary>Indented JSON for what people read: `spec`, `state`, `features`.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RuntimeSpec))]
[JsonSerializable(typeof(ContainerState))]
[JsonSerializable(typeof(Features))]
internal sealed partial class IndentedSpecJson : JsonSerializerContext
{
}
