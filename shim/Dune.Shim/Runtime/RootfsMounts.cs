using Dune.Interop;
using Dune.Shim.Api;
using Dune.Shim.Interop;

namespace Dune.Shim.Runtime;

/// <summary>
/// Mounts the task's root filesystem (the snapshotter's mounts containerd passes to Create)
/// at BUNDLE/rootfs, and unmounts it at delete.
/// </summary>
internal static class RootfsMounts
{
    private static readonly Dictionary<string, (ulong Set, bool Clear)> Flags = new()
    {
        ["ro"] = (Libc.MS_RDONLY, false),
        ["rw"] = (Libc.MS_RDONLY, true),
        ["nosuid"] = (Libc.MS_NOSUID, false),
        ["nodev"] = (Libc.MS_NODEV, false),
        ["noexec"] = (Libc.MS_NOEXEC, false),
        ["bind"] = (Libc.MS_BIND, false),
        ["rbind"] = (Libc.MS_BIND | Libc.MS_REC, false),
    };

    /// <summary>Mount flags and the data string (the options the kernel flags do not cover).</summary>
    public static (ulong Flags, string Data) ParseOptions(IEnumerable<string> options)
    {
        ulong flags = 0;
        var data = new List<string>();
        foreach (var option in options)
        {
            if (Flags.TryGetValue(option, out var f))
            {
                if (f.Clear) flags &= ~f.Set; else flags |= f.Set;
            }
            else
            {
                data.Add(option);
            }
        }
        return (flags, string.Join(',', data));
    }

    public static void Mount(IReadOnlyList<Mount> mounts, string rootfs)
    {
        if (mounts.Count == 0) return;
        Directory.CreateDirectory(rootfs);
        var done = 0;
        try
        {
            foreach (var m in mounts)
            {
                var (flags, data) = ParseOptions(m.Options);
                bool bind = (flags & Libc.MS_BIND) != 0;
                // A bind mount takes ro only through a remount; other types take it directly.
                ulong first = bind ? flags & ~Libc.MS_RDONLY : flags;
                if (Libc.mount(m.Source, rootfs, m.Type, (nuint)first, data.Length > 0 ? data : null) != 0)
                    throw NativeException.Last($"mount {m.Type} {m.Source} on {rootfs}");
                done++;
                if (bind && (flags & Libc.MS_RDONLY) != 0 &&
                    Libc.mount("", rootfs, null, (nuint)(flags | Libc.MS_REMOUNT), null) != 0)
                    throw NativeException.Last($"remount {rootfs} read-only");
            }
        }
        catch
        {
            for (; done > 0; done--) Libc.umount2(rootfs, Libc.MNT_DETACH);
            throw;
        }
    }

    /// <summary>Unmounts everything stacked on ROOTFS; a rootfs that is not a mount point is left alone.</summary>
    public static void Unmount(string rootfs)
    {
        for (int i = 0; i < 16; i++)
        {
            if (!IsMountPoint(rootfs)) return;
            if (Libc.umount2(rootfs, Libc.MNT_DETACH) != 0) throw NativeException.Last($"umount {rootfs}");
        }
    }

    private static bool IsMountPoint(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd('/');
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 4 && Unescape(fields[4]) == full) return true;
        }
        return false;
    }

    private static string Unescape(string s) =>
        s.Replace("\\040", " ").Replace("\\011", "\t").Replace("\\012", "\n").Replace("\\134", "\\");
}
