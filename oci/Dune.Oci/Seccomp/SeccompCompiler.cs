using Dune.Oci.Spec;

namespace Dune.Oci.Seccomp;

/// <summary>
/// Compiles <c>linux.seccomp</c> into a kernel seccomp filter for an x86_64 host, with the
/// meaning runc + libseccomp give a profile:
/// <list type="bullet">
/// <item>seccomp_data.arch is checked first; other architectures, and x32 syscall numbers
/// when SCMP_ARCH_X32 is not listed, get KILL_PROCESS. x86_64 is always filtered.</item>
/// <item>Rules whose action equals the default action are dropped (runc does so).</item>
/// <item>For one syscall, an unconditional rule decides alone (libseccomp drops conditional
/// rules under it; the first unconditional rule wins). Otherwise its conditional rules are
/// tried in spec order and the first whose conditions all hold gives the action.</item>
/// <item>Tests on distinct arguments of one rule are ANDed; several tests on the same
/// argument make one rule per test (ORed), as runc does.</item>
/// <item>Argument tests compare 64-bit values as two unsigned 32-bit halves on x86_64 and
/// the low 32 bits on the 32-bit ABIs (x86, x32), as libseccomp does.</item>
/// <item>A name unknown on an ABI is skipped there; a rule with no known name at all
/// produces a warning.</item>
/// <item>On i386, rules on socket and SysV IPC calls also apply to socketcall/ipc with
/// the call number in arg0 (see <see cref="X86Multiplexers"/>).</item>
/// </list>
/// Syscall numbers are dispatched with a binary search over number ranges, so the program
/// stays small (Docker's default profile: a few hundred instructions).
/// </summary>
public static class SeccompCompiler
{
    public static SeccompProgram Compile(LinuxSeccomp spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ParsedSeccomp parsed = SeccompSpecParser.Parse(spec);
        var warnings = new List<string>();
        foreach (SeccompRule rule in parsed.Rules.DistinctBy(r => r.SpecIndex))
        {
            if (!rule.Names.Any(n => SyscallTable.IsKnown(n) || X86Multiplexers.TryGet(n, out _, out _)))
            {
                warnings.Add($"linux.seccomp.syscalls[{rule.SpecIndex}]: no known x86 syscall among "
                    + $"[{string.Join(", ", rule.Names)}]; rule ignored");
            }
        }

        var builder = new BpfBuilder();
        var emitter = new FilterEmitter(builder, parsed);
        int entry = emitter.EmitProgram();
        if (builder.Count > SeccompProgram.MaxInstructions)
        {
            throw new SeccompException("linux.seccomp.syscalls",
                $"the rules compile to {builder.Count} BPF instructions, more than the kernel limit of "
                + $"{SeccompProgram.MaxInstructions}; use fewer argument conditions");
        }
        return new SeccompProgram(builder.ToBytes(entry), parsed.Flags, warnings);
    }
}
