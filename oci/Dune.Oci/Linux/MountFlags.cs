namespace Dune.Oci.Linux;

/// <summary>mount(2) flags.</summary>
public static class MountFlags
{
    public const ulong RdOnly = 1, NoSuid = 2, NoDev = 4, NoExec = 8, Synchronous = 16, Remount = 32,
        MandLock = 64, DirSync = 128, NoSymFollow = 256, NoAtime = 1024, NoDirAtime = 2048, Bind = 4096,
        Move = 8192, Rec = 16384, Silent = 32768, Unbindable = 1 << 17, Private = 1 << 18,
        Slave = 1 << 19, Shared = 1 << 20, RelAtime = 1 << 21, StrictAtime = 1 << 24, LazyTime = 1 << 25;

    public const ulong PropagationMask = Unbindable | Private | Slave | Shared;
}

/// <summary>mount_setattr(2) attributes (MOUNT_ATTR_*), for the recursive options ("rro"...).</summary>
public static class MountAttr
{
    public const ulong RdOnly = 0x1, NoSuid = 0x2, NoDev = 0x4, NoExec = 0x8, AtimeMask = 0x70, RelAtime = 0x0,
        NoAtime = 0x10, StrictAtime = 0x20, NoDirAtime = 0x80, NoSymFollow = 0x200000;
}

/// <summary>A config.json mount's option strings, split into flags, propagation and data.</summary>
public sealed record ParsedMountOptions(ulong Flags, ulong ClearFlags, IReadOnlyList<ulong> Propagation, string Data, bool Bind, bool RecursiveBind, bool IdMap)
{
    /// <summary>Attributes to set and clear on the mount and every mount below it (mount_setattr with AT_RECURSIVE).</summary>
    public ulong RecursiveSet { get; init; }
    public ulong RecursiveClear { get; init; }
    public bool HasRecursiveAttrs => RecursiveSet != 0 || RecursiveClear != 0;
}

public static class MountOptionParser
{
    // option -> (flag, true when the option clears it)
    private static readonly Dictionary<string, (ulong Flag, bool Clear)> FlagOptions = new()
    {
        ["ro"] = (MountFlags.RdOnly, false), ["rw"] = (MountFlags.RdOnly, true),
        ["nosuid"] = (MountFlags.NoSuid, false), ["suid"] = (MountFlags.NoSuid, true),
        ["nodev"] = (MountFlags.NoDev, false), ["dev"] = (MountFlags.NoDev, true),
        ["noexec"] = (MountFlags.NoExec, false), ["exec"] = (MountFlags.NoExec, true),
        ["sync"] = (MountFlags.Synchronous, false), ["async"] = (MountFlags.Synchronous, true),
        ["dirsync"] = (MountFlags.DirSync, false), ["remount"] = (MountFlags.Remount, false),
        ["mand"] = (MountFlags.MandLock, false), ["nomand"] = (MountFlags.MandLock, true),
        ["noatime"] = (MountFlags.NoAtime, false), ["atime"] = (MountFlags.NoAtime, true),
        ["nodiratime"] = (MountFlags.NoDirAtime, false), ["diratime"] = (MountFlags.NoDirAtime, true),
        ["relatime"] = (MountFlags.RelAtime, false), ["norelatime"] = (MountFlags.RelAtime, true),
        ["strictatime"] = (MountFlags.StrictAtime, false), ["nostrictatime"] = (MountFlags.StrictAtime, true),
        ["lazytime"] = (MountFlags.LazyTime, false), ["nolazytime"] = (MountFlags.LazyTime, true),
        ["nosymfollow"] = (MountFlags.NoSymFollow, false), ["symfollow"] = (MountFlags.NoSymFollow, true),
    };

    // runc 1.1's recursive options: option -> (MOUNT_ATTR_* flag, true when the option clears it).
    private static readonly Dictionary<string, (ulong Attr, bool Clear)> RecursiveOptions = new()
    {
        ["rro"] = (MountAttr.RdOnly, false), ["rrw"] = (MountAttr.RdOnly, true),
        ["rnosuid"] = (MountAttr.NoSuid, false), ["rsuid"] = (MountAttr.NoSuid, true),
        ["rnodev"] = (MountAttr.NoDev, false), ["rdev"] = (MountAttr.NoDev, true),
        ["rnoexec"] = (MountAttr.NoExec, false), ["rexec"] = (MountAttr.NoExec, true),
        ["rnodiratime"] = (MountAttr.NoDirAtime, false), ["rdiratime"] = (MountAttr.NoDirAtime, true),
        ["rrelatime"] = (MountAttr.RelAtime, false), ["rnorelatime"] = (MountAttr.RelAtime, true),
        ["rnoatime"] = (MountAttr.NoAtime, false), ["ratime"] = (MountAttr.NoAtime, true),
        ["rstrictatime"] = (MountAttr.StrictAtime, false), ["rnostrictatime"] = (MountAttr.StrictAtime, true),
        ["rnosymfollow"] = (MountAttr.NoSymFollow, false), ["rsymfollow"] = (MountAttr.NoSymFollow, true),
    };

    private static readonly Dictionary<string, ulong> PropagationOptions = new()
    {
        ["private"] = MountFlags.Private, ["rprivate"] = MountFlags.Private | MountFlags.Rec,
        ["shared"] = MountFlags.Shared, ["rshared"] = MountFlags.Shared | MountFlags.Rec,
        ["slave"] = MountFlags.Slave, ["rslave"] = MountFlags.Slave | MountFlags.Rec,
        ["unbindable"] = MountFlags.Unbindable, ["runbindable"] = MountFlags.Unbindable | MountFlags.Rec,
    };

    public static bool IsKnownFlagOption(string o) => FlagOptions.ContainsKey(o) || PropagationOptions.ContainsKey(o)
        || RecursiveOptions.ContainsKey(o) || o is "bind" or "rbind";

    public static IEnumerable<string> KnownOptions =>
        FlagOptions.Keys.Concat(PropagationOptions.Keys).Concat(RecursiveOptions.Keys).Concat(new[] { "bind", "rbind" });

    public static ParsedMountOptions Parse(IEnumerable<string>? options)
    {
        ulong flags = 0, clear = 0;
        var propagation = new List<ulong>();
        var data = new List<string>();
        bool bind = false, rbind = false, idmap = false;
        ulong recSet = 0, recClear = 0;
        foreach (var raw in options ?? Enumerable.Empty<string>())
        {
            var o = raw.Trim();
            if (o.Length == 0) continue;
            if (o == "bind") { bind = true; continue; }
            if (o == "rbind") { bind = true; rbind = true; continue; }
            if (o is "idmap" or "ridmap") { idmap = true; continue; }
            if (FlagOptions.TryGetValue(o, out var f))
            {
                if (f.Clear) { flags &= ~f.Flag; clear |= f.Flag; }
                else { flags |= f.Flag; clear &= ~f.Flag; }
                continue;
            }
            if (PropagationOptions.TryGetValue(o, out var p)) { propagation.Add(p); continue; }
            if (RecursiveOptions.TryGetValue(o, out var r))
            {
                if (r.Clear) { recClear |= r.Attr; recSet &= ~r.Attr; }
                else
                {
                    recSet |= r.Attr; recClear &= ~r.Attr;
                    // An access-time mode is set by clearing the whole atime field too (mount_setattr(2)).
                    if (r.Attr == MountAttr.RelAtime || (r.Attr & MountAttr.AtimeMask) == r.Attr) recClear |= MountAttr.AtimeMask;
                }
                continue;
            }
            data.Add(o);
        }
        return new ParsedMountOptions(flags, clear, propagation, string.Join(',', data), bind, rbind, idmap)
        {
            RecursiveSet = recSet,
            RecursiveClear = recClear,
        };
    }

    /// <summary>linux.rootfsPropagation; unset means rslave: host mounts still reach the container, nothing leaks out.</summary>
    public static ulong RootPropagation(string? value) => value switch
    {
        null or "" => MountFlags.Slave | MountFlags.Rec,
        _ when PropagationOptions.TryGetValue(value, out var p) => p,
        _ => throw new RuntimeError($"linux.rootfsPropagation: invalid value \"{value}\""),
    };
}
