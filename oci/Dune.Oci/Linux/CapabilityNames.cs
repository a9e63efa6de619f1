namespace Dune.Oci.Linux;

/// <summary>Linux capability names (as config.json spells them) and their numbers.</summary>
public static class CapabilityNames
{
    private static readonly string[] Names =
    {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
        "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
        "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    };

    public static IReadOnlyList<string> All => Names;

    /// <summary>The number of a capability name, or -1 when this runtime does not know it.</summary>
    public static int Number(string name) => Array.IndexOf(Names, name.ToUpperInvariant());

    /// <summary>The highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap).</summary>
    public static int LastCap()
    {
        try { return int.Parse(File.ReadAllText("/proc/sys/kernel/cap_last_cap").Trim()); }
        catch (Exception) { return Names.Length - 1; }
    }

    /// <summary>
    /// A capability set as a bit mask. Names the kernel does not know are left out, as runc
    /// does, and reported in <paramref name="ignored"/> so the caller can warn.
    /// </summary>
    public static ulong Mask(IEnumerable<string>? names, int lastCap, ICollection<string> ignored)
    {
        ulong mask = 0;
        foreach (var name in names ?? Enumerable.Empty<string>())
        {
            int n = Number(name);
            if (n < 0 || n > lastCap) { ignored.Add(name); continue; }
            mask |= 1UL << n;
        }
        return mask;
    }
}
