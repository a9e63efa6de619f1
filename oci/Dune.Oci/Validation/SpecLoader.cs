using System.Text.Json;
using Dune.Oci.Spec;

namespace Dune.Oci.Validation;

/// <summary>Reads config.json (and `update --resources`) with messages that say where it is wrong.</summary>
public static class SpecLoader
{
    public static RuntimeSpec LoadBundle(string bundle)
    {
        var path = Path.Combine(bundle, "config.json");
        if (!Directory.Exists(bundle)) throw new RuntimeError($"bundle \"{bundle}\" does not exist");
        if (!File.Exists(path)) throw new RuntimeError($"config.json: \"{path}\" does not exist");
        return Parse(File.ReadAllBytes(path), "config.json", SpecJsonContext.Default.RuntimeSpec);
    }

    public static T Parse<T>(byte[] json, string what, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        // Syntax first, so a broken file and a wrong field type get different messages.
        try
        {
            using var _ = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new RuntimeError($"{what}: invalid JSON: {Trim(e.Message)} (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})");
        }
        try
        {
            return JsonSerializer.Deserialize(json, type) ?? throw new RuntimeError($"{what}: the document is null");
        }
        catch (JsonException e)
        {
            var path = string.IsNullOrEmpty(e.Path) ? "$" : e.Path;
            throw new RuntimeError($"{what}: {path}: wrong type: {Trim(e.Message)}");
        }
    }

    // System.Text.Json appends " Path: $ | LineNumber: 0 | ..." to its messages; we say it ourselves.
    private static string Trim(string message)
    {
        int i = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (i < 0) i = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (i >= 0 ? message[..i] : message).TrimEnd('.', ' ');
    }
}
