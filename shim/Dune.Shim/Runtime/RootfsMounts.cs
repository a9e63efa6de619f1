using Tmds.Linux;
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
        ["ro"] = (LibC.MS_RDONLY, false),
        ["rw"] = (LibC.MS_RDONLY, true),
        ["nosuid"] = (LibC.MS_NOSUID, false),
        ["nodev"] = (LibC.MS_NODEV, false),
        ["noexec"] = (LibC.MS_NOEXEC, false),
        ["bind"] = (LibC.MS_BIND, false),
        ["rbind"] = (LibC.MS_BIND | LibC.MS_REC, false),
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
                bool bind = (flags & LibC.MS_BIND) != 0;
                // A bind mount takes ro only through a remount; other types take it directly.
                ulong first = bind ? flags & ~LibC.MS_RDONLY : flags;
                if (PathCalls.Mount(m.Source, rootfs, m.Type, first, data.Length > 0 ? data : null) != 0)
                    throw NativeException.Last($"mount {m.Type} {m.Source} on {rootfs}");
                done++;
                if (bind && (flags & LibC.MS_RDONLY) != 0 &&
                    PathCalls.Mount("", rootfs, null, flags | LibC.MS_REMOUNT, null) != 0)
                    throw NativeException.Last($"remount {rootfs} read-only");
            }
        }
        catch
        {
            for (; done > 0; done--) PathCalls.Umount2(rootfs, LibC.MNT_DETACH);
            throw;
        }
    }

    /// <summary>Unmounts everything stacked on ROOTFS; a rootfs that is not a mount point is left alone.</summary>
    public static void Unmount(string rootfs)
    {
        for (int i = 0; i < 16; i++)
        {
            if (!IsMountPoint(rootfs)) return;
            if (PathCalls.Umount2(rootfs, LibC.MNT_DETACH) != 0) throw NativeException.Last($"umount {rootfs}");
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
