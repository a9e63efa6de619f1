using Dune.Oci.Seccomp;
using Dune.Oci.Spec;
using Xunit;

namespace Dune.Oci.Tests.Seccomp;

/// <summary>Builds specs and runs compiled filters through <see cref="BpfInterpreter"/>.</summary>
internal static class SeccompTestKit
{
    public const uint AuditArchAarch64 = 0xC00000B7;

    public static uint Errno(uint e) => SeccompReturn.Errno | e;

    public static LinuxSyscall Rule(string action, params string[] names) =>
        new() { Names = [.. names], Action = action };

    public static LinuxSyscall Rule(string action, string name, params LinuxSeccompArg[] args) =>
        new() { Names = [name], Action = action, Args = [.. args] };

    public static LinuxSeccompArg Arg(uint index, string op, ulong value, ulong valueTwo = 0) =>
        new() { Index = index, Op = "SCMP_CMP_" + op, Value = value, ValueTwo = valueTwo };

    public static LinuxSeccomp Policy(string defaultAction, params LinuxSyscall[] rules) =>
        new() { DefaultAction = defaultAction, Syscalls = [.. rules] };

    public static uint Number(SeccompArch arch, string name)
    {
        Assert.True(SyscallTable.TryGetNumber(arch, name, out uint nr), $"{name} unknown on {arch}");
        return nr;
    }

    /// <summary>The filter's verdict for syscall <paramref name="name"/> of the given ABI.</summary>
    public static uint Verdict(SeccompProgram program, string name, SeccompArch arch = SeccompArch.X86_64, params ulong[] args)
    {
        uint auditArch = arch == SeccompArch.X86 ? AuditArch.I386 : AuditArch.X86_64;
        return Verdict(program, Number(arch, name), auditArch, args);
    }

    public static uint Verdict(SeccompProgram program, uint nr, uint auditArch, params ulong[] args)
    {
        BpfInterpreter.Verify(program.Filter);
        return BpfInterpreter.Run(program.Filter, new SeccompData(nr, auditArch, 0x401000, args));
    }

    public static string Hex(uint v) => $"0x{v:x8}";
}
