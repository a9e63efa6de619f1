namespace Dune.Oci.Seccomp;

/// <summary>
/// Syscall name -> number for the x86 ABIs, as the kernel reports the number in
/// <c>seccomp_data.nr</c> (x32 numbers include <see cref="X32SyscallBit"/>). The tables live
/// in SyscallTable.g.cs, generated from the kernel headers by gen-syscall-table.sh.
/// </summary>
public static partial class SyscallTable
{
    /// <summary>__X32_SYSCALL_BIT: set in every x32 syscall number.</summary>
    public const uint X32SyscallBit = 0x40000000;

    /// <summary>The syscall number of <paramref name="name"/> on <paramref name="arch"/>,
    /// or false when that ABI has no such syscall.</summary>
    public static bool TryGetNumber(SeccompArch arch, string name, out uint number)
    {
        ArgumentNullException.ThrowIfNull(name);
        int n = arch switch
        {
            SeccompArch.X86_64 => X86_64Number(name),
            SeccompArch.X86 => X86Number(name),
            SeccompArch.X32 => X32Number(name),
            _ => throw new ArgumentOutOfRangeException(nameof(arch)),
        };
        number = n < 0 ? 0 : (uint)n;
        return n >= 0;
    }

    /// <summary>True when at least one of the three x86 ABIs knows the name.</summary>
    public static bool IsKnown(string name) =>
        TryGetNumber(SeccompArch.X86_64, name, out _)
        || TryGetNumber(SeccompArch.X86, name, out _)
        || TryGetNumber(SeccompArch.X32, name, out _);
}
