namespace Dune.Oci.Seccomp;

/// <summary>seccomp(2) SECCOMP_SET_MODE_FILTER flags (linux/seccomp.h).</summary>
[Flags]
public enum SeccompFilterFlags : uint
{
    None = 0,
    Tsync = 1,
    Log = 2,
    SpecAllow = 4,
    NewListener = 8,
    TsyncEsrch = 16,
    WaitKillableRecv = 32,
}

/// <summary>Filter return values (linux/seccomp.h); the low 16 bits carry data.</summary>
public static class SeccompReturn
{
    public const uint KillProcess = 0x80000000;
    public const uint KillThread = 0x00000000;
    public const uint Trap = 0x00030000;
    public const uint Errno = 0x00050000;
    public const uint UserNotif = 0x7fc00000;
    public const uint Trace = 0x7ff00000;
    public const uint Log = 0x7ffc0000;
    public const uint Allow = 0x7fff0000;

    /// <summary>SECCOMP_RET_ACTION_FULL: the action part of a return value.</summary>
    public const uint ActionMask = 0xffff0000;

    /// <summary>SECCOMP_RET_DATA: errno or tracer message.</summary>
    public const uint DataMask = 0x0000ffff;
}

/// <summary>AUDIT_ARCH_* values the kernel stores in <c>seccomp_data.arch</c>.</summary>
public static class AuditArch
{
    public const uint X86_64 = 0xC000003E;
    public const uint I386 = 0x40000003;
}

/// <summary>Layout of <c>struct seccomp_data</c>, which the filter reads.</summary>
public static class SeccompDataLayout
{
    public const uint Nr = 0;
    public const uint Arch = 4;
    public const uint InstructionPointer = 8;
    public const uint Args = 16;
    public const int Size = 64;

    /// <summary>Offset of the low (little-endian) 32-bit half of args[index].</summary>
    public static uint ArgLow(int index) => Args + 8 * (uint)index;

    /// <summary>Offset of the high 32-bit half of args[index].</summary>
    public static uint ArgHigh(int index) => Args + 8 * (uint)index + 4;
}
