using Dune.Interop;
using Tmds.Linux;
using Dune.Oci.Interop;

namespace Dune.Oci.Lifecycle;

/// <summary>
/// A container without a mount namespace had its rootfs set up in the runtime's own mount
/// namespace (as runc does); runc leaves those mounts behind, `delete` removes them: every
/// mount at or below the rootfs, deepest first, detached lazily.
/// </summary>
public static class HostMountCleanup
{
    private const int MntDetach = 2;

    public static void Run(string rootfs)
    {
        var root = rootfs.TrimEnd('/');
        var below = File.ReadLines("/proc/self/mountinfo")
            .Select(l => l.Split(' '))
            .Where(f => f.Length > 4)
            .Select(f => Unescape(f[4]))
            .Where(m => m == root || m.StartsWith(root + "/", StringComparison.Ordinal))
            .Reverse() // mountinfo lists a parent before its children
            .ToList();
        foreach (var m in below)
            if (PathCalls.Umount2(m, MntDetach) != 0 && NativeException.LastErrno is not (22 /* EINVAL: gone with its parent */ or 2))
                RuntimeLog.Warn($"cannot unmount {m}: {NativeException.Describe(NativeException.LastErrno)}");
    }

    // mountinfo escapes space, tab, newline and backslash as \ooo.
    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && IsOctal(s, i + 1))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static bool IsOctal(string s, int at) =>
        at + 3 <= s.Length && s.Substring(at, 3).All(c => c is >= '0' and <= '7');
}
