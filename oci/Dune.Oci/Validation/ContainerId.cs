namespace Dune.Oci.Validation;

/// <summary>Container ids name a directory under --root: letters, digits and _ + - . only.</summary>
public static class ContainerId
{
    public static bool IsValid(string? id) =>
        !string.IsNullOrEmpty(id) && id is not ("." or "..") && id.Length <= 1024 &&
        id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '+' or '-' or '.');

    public static void Validate(string? id)
    {
        if (string.IsNullOrEmpty(id))
            throw new RuntimeError("invalid container id \"\": a container id is required");
        if (!IsValid(id))
            throw new RuntimeError($"invalid container id \"{id}\": use letters, digits, '_', '+', '-' and '.'");
    }
}
