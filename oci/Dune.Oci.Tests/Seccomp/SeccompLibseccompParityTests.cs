using System.Globalization;
using System.Text;
using Dune.Oci.Seccomp;
using Dune.Oci.Spec;
using Xunit;
using Xunit.Abstractions;
using static Dune.Oci.Tests.Seccomp.SeccompTestKit;

namespace Dune.Oci.Tests.Seccomp;

/// <summary>libseccomp_export.c: the same policy compiled by libseccomp (needs libseccomp-dev).</summary>
public sealed class LibseccompExporterFixture() : CompiledCTool("libseccomp_export",
    Source("oci", "Dune.Oci.Tests", "Seccomp", "libseccomp_export.c"), "-lseccomp");

/// <summary>
/// Differential tests: the same policy compiled by libseccomp (as runc uses it) and by
/// SeccompCompiler must give the same verdict for every syscall number of every ABI and
/// for argument values around each rule's boundaries.
/// </summary>
public class SeccompLibseccompParityTests : IClassFixture<LibseccompExporterFixture>
{
    private readonly LibseccompExporterFixture _fx;
    private readonly ITestOutputHelper _output;

    public SeccompLibseccompParityTests(LibseccompExporterFixture fx, ITestOutputHelper output)
    {
        _fx = fx;
        _output = output;
    }

    [Fact]
    public void DefaultProfileMatchesLibseccomp()
    {
        AssertParity(DefaultSeccompProfile.Create());
    }

    [Fact]
    public void EveryOperatorMatchesLibseccomp()
    {
        // One syscall per test so no two conditional rules of one syscall overlap (where
        // libseccomp's order differs, see SeccompCompiler's notes).
        string[] names = ["ioctl", "fcntl", "lseek", "mmap", "madvise", "prctl", "socket", "kill"];
        ulong[] values = [0, 5, 0xFFFF_FFFF, 0x1_0000_0000, 0x1_0000_0005, 0x8000_0000_0000_0001, 0xFFFF_FFFF_FFFF_FFFF];
        string[] ops = ["NE", "LT", "LE", "EQ", "GE", "GT"];
        var rules = new List<LinuxSyscall>();
        int n = 0;
        foreach (string op in ops)
        {
            foreach (ulong value in values)
            {
                string name = names[n % names.Length];
                uint index = (uint)(n % 6);
                n++;
                var spec = Policy("SCMP_ACT_ERRNO",
                    Rule("SCMP_ACT_ALLOW", "read", "write"),
                    Rule("SCMP_ACT_ALLOW", name, Arg(index, op, value)));
                spec.Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
                AssertParity(spec);
            }
        }
        var masked = Policy("SCMP_ACT_ALLOW",
            Rule("SCMP_ACT_ERRNO", "ioctl", Arg(1, "MASKED_EQ", 0xF_0000_00FF, 0x3_0000_0012)),
            Rule("SCMP_ACT_KILL_PROCESS", "fcntl", Arg(0, "MASKED_EQ", 0xFF00, 0x1200), Arg(2, "GT", 7)),
            Rule("SCMP_ACT_TRAP", "mmap", Arg(3, "MASKED_EQ", 0xFF, 0x100)));
        masked.Architectures = ["SCMP_ARCH_X86", "SCMP_ARCH_X32"];
        AssertParity(masked);
    }

    [Fact]
    public void I386MultiplexersMatchLibseccomp()
    {
        var spec = Policy("SCMP_ACT_ALLOW",
            Rule("SCMP_ACT_ERRNO", "connect", "semop", "send"),
            Rule("SCMP_ACT_TRAP", "socket", Arg(0, "EQ", 40), Arg(2, "GT", 3)),
            Rule("SCMP_ACT_LOG", "shmget", Arg(1, "GT", 4096)),
            Rule("SCMP_ACT_KILL_PROCESS", "socketcall", Arg(0, "EQ", 17)));
        spec.Architectures = ["SCMP_ARCH_X86"];
        AssertParity(spec);
        var denyMux = Policy("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", "socketcall", "ipc", "read"), Rule("SCMP_ACT_ALLOW", "bind", Arg(2, "LT", 16)));
        denyMux.Architectures = ["SCMP_ARCH_X86"];
        AssertParity(denyMux);
    }

    [Fact]
    public void NativeOnlyPolicyMatchesLibseccomp()
    {
        var spec = Policy("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", "mkdir", "rmdir", "socketcall"), Rule("SCMP_ACT_LOG", "getpid"),
            Rule("SCMP_ACT_TRAP", "ioctl", Arg(1, "EQ", 5), Arg(1, "GT", 0x1_0000_0000), Arg(3, "LE", 9)));
        AssertParity(spec);
    }

    private void AssertParity(LinuxSeccomp spec)
    {
        SeccompProgram ours = SeccompCompiler.Compile(spec);
        byte[] theirs = LibseccompFilter(spec, out string description);
        _output.WriteLine($"dune: {ours.InstructionCount} instructions, libseccomp: {theirs.Length / 8}");
        int compared = 0;
        foreach (ulong[] args in ArgumentVectors(spec))
        {
            foreach ((uint auditArch, uint nr) in SyscallInputs())
            {
                var data = new SeccompData(nr, auditArch, 0x401000, args).ToBytes();
                uint expected = BpfInterpreter.Run(theirs, data, out _);
                uint actual = BpfInterpreter.Run(ours.Filter, data, out _);
                if (expected != actual)
                {
                    Assert.Fail($"arch 0x{auditArch:x8} nr 0x{nr:x} args [{string.Join(", ", args.Select(a => $"0x{a:x}"))}]: "
                        + $"libseccomp {Hex(expected)}, dune {Hex(actual)}\npolicy:\n{description}");
                }
                compared++;
            }
        }
        _output.WriteLine($"{compared} inputs agree");
    }

    // Numbers beyond our tables are left out: the installed libseccomp may know newer
    // syscalls than the headers plus the few gen-syscall-table.sh adds (up to futex_requeue).
    private static IEnumerable<(uint AuditArch, uint Nr)> SyscallInputs()
    {
        for (uint nr = 0; nr < 600; nr++)
        {
            if (nr <= SyscallTable.X86_64Highest)
                yield return (AuditArch.X86_64, nr);
            if (nr <= SyscallTable.X86_64Highest || (nr >= 512 && nr <= SyscallTable.X32Highest - SyscallTable.X32SyscallBit))
                yield return (AuditArch.X86_64, SyscallTable.X32SyscallBit + nr);
            if (nr <= SyscallTable.X86Highest)
                yield return (AuditArch.I386, nr);
        }
        yield return (AuditArch.X86_64, 0xFFFFFFFF);
        yield return (AuditArch.X86_64, 0x3FFFFFFF);
        yield return (AuditArch.I386, 0xFFFFFFFF);
        yield return (AuditArchAarch64, 63);
    }

    // Every rule value, its neighbours and its halves, in every argument slot at once.
    private static IEnumerable<ulong[]> ArgumentVectors(LinuxSeccomp spec)
    {
        var values = new SortedSet<ulong> { 0, 1, 0xFFFF_FFFF, 0x1_0000_0000, ulong.MaxValue };
        foreach (LinuxSeccompArg arg in spec.Syscalls!.SelectMany(s => s.Args ?? []))
        {
            foreach (ulong v in new[] { arg.Value, arg.ValueTwo, arg.Value | arg.ValueTwo, arg.Value & ~arg.ValueTwo })
            {
                values.Add(v);
                values.Add(v + 1);
                values.Add(v - 1);
                values.Add(v & 0xFFFF_FFFF);
                values.Add(v | 0x1_0000_0000);
            }
        }
        foreach (ulong v in values)
            yield return [v, v, v, v, v, v];
        // Mixed vectors, so tests on different arguments see different values.
        ulong[] all = values.ToArray();
        for (int k = 0; k < all.Length; k++)
            yield return Enumerable.Range(0, 6).Select(i => all[(k + i * 7 + i * i) % all.Length]).ToArray();
    }

    private byte[] LibseccompFilter(LinuxSeccomp spec, out string description)
    {
        ParsedSeccomp parsed = SeccompSpecParser.Parse(spec);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"default 0x{parsed.DefaultAction:x}\n");
        text.Append(CultureInfo.InvariantCulture, $"badarch 0x{SeccompReturn.KillProcess:x}\n");
        foreach (SeccompArch arch in parsed.Architectures)
        {
            text.Append("arch ").Append(arch switch
            {
                SeccompArch.X86_64 => "x86_64",
                SeccompArch.X86 => "x86",
                _ => "x32",
            }).Append('\n');
        }
        foreach (SeccompRule rule in parsed.Rules)
        {
            foreach (string name in rule.Names)
            {
                text.Append(CultureInfo.InvariantCulture, $"rule 0x{rule.Action:x} {name} {rule.Conditions.Length}");
                foreach (ArgCondition c in rule.Conditions)
                    text.Append(CultureInfo.InvariantCulture, $" {c.Index} {LibseccompOp(c.Op)} 0x{c.Value:x} 0x{c.ValueTwo:x}");
                text.Append('\n');
            }
        }
        string specFile = Path.Combine(_fx.Directory, $"spec-{Guid.NewGuid():N}.txt");
        string outFile = Path.ChangeExtension(specFile, ".bpf");
        description = text.ToString();
        File.WriteAllText(specFile, description);
        (int code, string output) = SeccompKernelTests.RunProcess(_fx.Tool, specFile, outFile);
        Assert.True(code == 0, $"libseccomp_export failed ({code}): {output}");
        return File.ReadAllBytes(outFile);
    }

    // enum scmp_compare
    private static int LibseccompOp(ArgOp op) => op switch
    {
        ArgOp.NotEqual => 1,
        ArgOp.LessThan => 2,
        ArgOp.LessOrEqual => 3,
        ArgOp.Equal => 4,
        ArgOp.GreaterOrEqual => 5,
        ArgOp.GreaterThan => 6,
        ArgOp.MaskedEqual => 7,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };
}
