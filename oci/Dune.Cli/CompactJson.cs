using System.Text.Json.Serialization;

namespace Dune.Cli;

/// <summary>One-line JSON for what programs read from `list --format json` (runc prints it so).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(List<ListedContainer>))]
internal sealed partial class CompactJson : JsonSerializerContext
{
}
