namespace Dune.Oci.Spec;

/// <summary>Sizes as people type them: 1024, 64k, 512m, 2g; -1 means unlimited.</summary>
public static class ByteSize
{
    public static long Parse(string text, string what)
    {
        var s = text.Trim().ToLowerInvariant();
        if (s == "-1") return -1;
        if (s.EndsWith('b')) s = s[..^1];
        long mult = 1;
        if (s.Length > 0 && "kmgt".Contains(s[^1]))
        {
            mult = s[^1] switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, _ => 1L << 40 };
            s = s[..^1];
        }
        if (!long.TryParse(s, out var n) || n < 0)
            throw new RuntimeError($"{what}: invalid size \"{text}\"");
        return checked(n * mult);
    }
}
