using Dune.Oci.Seccomp;
using Dune.Oci.Spec;
using Xunit;
using static Dune.Oci.Tests.Seccomp.SeccompTestKit;

namespace Dune.Oci.Tests.Seccomp;

public class SeccompCompilerTests
{
    [Fact]
    public void AllowListAgainstErrnoDefault()
    {
        var spec = Policy("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", "read", "write", "exit_group"));
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "read"));
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "write"));
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "exit_group"));
        Assert.Equal(Errno(1), Verdict(p, "open"));   // default errno is EPERM
        Assert.Equal(Errno(1), Verdict(p, "mkdir"));
        Assert.Empty(p.Warnings);
    }

    [Fact]
    public void EveryNumberGetsTheRightVerdict()
    {
        // Exhaustive over the x86_64 table plus numbers between and beyond its entries.
        var allowed = new[] { "read", "close", "mmap", "getpid", "clone3", "futex", "statx", "openat2" };
        SeccompProgram p = SeccompCompiler.Compile(Policy("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", allowed)));
        var allowedNumbers = allowed.Select(n => Number(SeccompArch.X86_64, n)).ToHashSet();
        for (uint nr = 0; nr < 1024; nr++)
        {
            uint expected = allowedNumbers.Contains(nr) ? SeccompReturn.Allow : Errno(1);
            Assert.Equal(Hex(expected), Hex(Verdict(p, nr, AuditArch.X86_64)));
        }
        Assert.Equal(Errno(1), Verdict(p, 0x3FFFFFFF, AuditArch.X86_64));
    }

    [Fact]
    public void DefaultErrnoRetIsUsed()
    {
        var spec = Policy("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", "read"));
        spec.DefaultErrnoRet = 38;
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.Equal(Errno(38), Verdict(p, "mkdir"));
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "read"));
    }

    [Fact]
    public void RuleErrnoRetOverridesEperm()
    {
        var rule = Rule("SCMP_ACT_ERRNO", "mkdir");
        rule.ErrnoRet = 13;
        var plain = Rule("SCMP_ACT_ERRNO", "rmdir");
        SeccompProgram p = SeccompCompiler.Compile(Policy("SCMP_ACT_ALLOW", rule, plain));
        Assert.Equal(Errno(13), Verdict(p, "mkdir"));
        Assert.Equal(Errno(1), Verdict(p, "rmdir"));
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "read"));
    }

    [Theory]
    [InlineData("SCMP_ACT_KILL", SeccompReturn.KillThread)]
    [InlineData("SCMP_ACT_KILL_THREAD", SeccompReturn.KillThread)]
    [InlineData("SCMP_ACT_KILL_PROCESS", SeccompReturn.KillProcess)]
    [InlineData("SCMP_ACT_TRAP", SeccompReturn.Trap)]
    [InlineData("SCMP_ACT_ERRNO", SeccompReturn.Errno | 1)]
    [InlineData("SCMP_ACT_TRACE", SeccompReturn.Trace | 1)]
    [InlineData("SCMP_ACT_LOG", SeccompReturn.Log)]
    public void RuleActions(string action, uint expected)
    {
        SeccompProgram p = SeccompCompiler.Compile(Policy("SCMP_ACT_ALLOW", Rule(action, "mkdir")));
        Assert.Equal(Hex(expected), Hex(Verdict(p, "mkdir")));
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "mkdirat"));
    }

    [Theory]
    [InlineData("SCMP_ACT_KILL", SeccompReturn.KillThread)]
    [InlineData("SCMP_ACT_KILL_PROCESS", SeccompReturn.KillProcess)]
    [InlineData("SCMP_ACT_TRAP", SeccompReturn.Trap)]
    [InlineData("SCMP_ACT_LOG", SeccompReturn.Log)]
    [InlineData("SCMP_ACT_ALLOW", SeccompReturn.Allow)]
    public void DefaultActions(string action, uint expected)
    {
        var rule = Rule("SCMP_ACT_ERRNO", "mkdir");
        rule.ErrnoRet = 17;
        SeccompProgram p = SeccompCompiler.Compile(Policy(action, rule));
        Assert.Equal(Hex(expected), Hex(Verdict(p, "getpid")));
        Assert.Equal(Hex(Errno(17)), Hex(Verdict(p, "mkdir")));
    }

    [Fact]
    public void TraceCarriesErrnoRetAsMessage()
    {
        var rule = Rule("SCMP_ACT_TRACE", "mkdir");
        rule.ErrnoRet = 4242;
        SeccompProgram p = SeccompCompiler.Compile(Policy("SCMP_ACT_ALLOW", rule));
        Assert.Equal(SeccompReturn.Trace | 4242, Verdict(p, "mkdir"));
    }

    [Fact]
    public void ForeignArchitectureIsKilled()
    {
        SeccompProgram p = SeccompCompiler.Compile(Policy("SCMP_ACT_ALLOW"));
        Assert.Equal(SeccompReturn.KillProcess, Verdict(p, 0, AuditArchAarch64));
        Assert.Equal(SeccompReturn.KillProcess, Verdict(p, 3, AuditArch.I386));  // x86 not listed
        Assert.Equal(SeccompReturn.Allow, Verdict(p, 0, AuditArch.X86_64));
    }

    [Fact]
    public void I386UsesItsOwnNumbers()
    {
        var spec = Policy("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", "mkdir", "socketcall"));
        spec.Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"];
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.Equal(Errno(1), Verdict(p, "mkdir", SeccompArch.X86));          // 39 on i386
        Assert.Equal(Errno(1), Verdict(p, "socketcall", SeccompArch.X86));
        Assert.Equal(Errno(1), Verdict(p, "mkdir", SeccompArch.X86_64));       // 83 on x86_64
        // 83 on i386 is symlink, 39 on x86_64 is getpid: neither is mkdir.
        Assert.Equal(SeccompReturn.Allow, Verdict(p, 83, AuditArch.I386));
        Assert.Equal(SeccompReturn.Allow, Verdict(p, 39, AuditArch.X86_64));
        Assert.Equal(SeccompReturn.KillProcess, Verdict(p, 0x40000000 + 83, AuditArch.X86_64)); // x32 not listed
    }

    [Fact]
    public void I386SocketcallAndIpcCannotBypassRules()
    {
        var spec = Policy("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", "connect", "shmget", "semop"));
        spec.Architectures = ["SCMP_ARCH_X86"];
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.Equal(Errno(1), Verdict(p, "connect", SeccompArch.X86));
        Assert.Equal(Errno(1), Verdict(p, "socketcall", SeccompArch.X86, 3));      // SYS_CONNECT
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "socketcall", SeccompArch.X86, 1));  // SYS_SOCKET
        Assert.Equal(Errno(1), Verdict(p, "ipc", SeccompArch.X86, 23));            // SHMGET
        Assert.Equal(Errno(1), Verdict(p, "ipc", SeccompArch.X86, 1));             // SEMOP (no direct syscall)
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "ipc", SeccompArch.X86, 2));  // SEMGET
        Assert.Equal(Errno(1), Verdict(p, "connect"));                              // x86_64 unaffected by the mux
        Assert.Empty(SeccompCompiler.Compile(Policy("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", "send", "recv"))).Warnings);
    }

    [Fact]
    public void X32IsDeniedUnlessListed()
    {
        var spec = Policy("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", "read", "mkdir"));
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "read"));
        Assert.Equal(SeccompReturn.KillProcess, Verdict(p, 0x40000000, AuditArch.X86_64));           // x32 read
        Assert.Equal(SeccompReturn.KillProcess, Verdict(p, 0x40000000 + 83, AuditArch.X86_64));      // x32 mkdir
        Assert.Equal(SeccompReturn.KillProcess, Verdict(p, 0xFFFFFFFE, AuditArch.X86_64));
        // nr == -1 (a tracer skipped the syscall) is not x32: the default action applies.
        Assert.Equal(Errno(1), Verdict(p, 0xFFFFFFFF, AuditArch.X86_64));
    }

    [Fact]
    public void X32WhenListedIsFilteredByX32Numbers()
    {
        var spec = Policy("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", "read", "rt_sigaction"), Rule("SCMP_ACT_ERRNO", "write"));
        spec.Syscalls![1].ErrnoRet = 5;
        spec.Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"];
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "read", SeccompArch.X32));
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "rt_sigaction", SeccompArch.X32)); // 0x40000200
        Assert.Equal(Errno(5), Verdict(p, "write", SeccompArch.X32));
        Assert.Equal(Errno(1), Verdict(p, "mkdir", SeccompArch.X32));
        // x32 number of the x86_64-only rt_sigaction slot (13) is not rt_sigaction on x32.
        Assert.Equal(Errno(1), Verdict(p, 0x40000000 + 13, AuditArch.X86_64));
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "rt_sigaction"));
        Assert.Equal(SeccompReturn.KillProcess, Verdict(p, 3, AuditArch.I386));
    }

    [Fact]
    public void EmptyArchitectureListMeansNativeOnly()
    {
        var spec = Policy("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", "mkdir"));
        spec.Architectures = [];
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.Equal(Errno(1), Verdict(p, "mkdir"));
        Assert.Equal(SeccompReturn.KillProcess, Verdict(p, 39, AuditArch.I386));
        Assert.Equal(SeccompReturn.KillProcess, Verdict(p, 0x40000000 + 83, AuditArch.X86_64));
    }

    [Fact]
    public void ForeignArchitectureNamesAreAcceptedAndIgnored()
    {
        var spec = Policy("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", "mkdir"));
        spec.Architectures = ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"];
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.Equal(Errno(1), Verdict(p, "mkdir"));
        Assert.Equal(SeccompReturn.KillProcess, Verdict(p, 34, AuditArchAarch64));
    }

    [Fact]
    public void UnknownNamesAreSkippedAndAllUnknownRulesWarn()
    {
        var spec = Policy("SCMP_ACT_ERRNO",
            Rule("SCMP_ACT_ALLOW", "read", "not_a_syscall"),
            Rule("SCMP_ACT_ALLOW", "bogus_one", "bogus_two"),
            Rule("SCMP_ACT_ALLOW", "socketcall"));   // known on i386 only: no warning
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "read"));
        string warning = Assert.Single(p.Warnings);
        Assert.Contains("linux.seccomp.syscalls[1]", warning);
        Assert.Contains("bogus_one", warning);
    }

    [Fact]
    public void FlagsAreTranslated()
    {
        var spec = Policy("SCMP_ACT_ALLOW");
        spec.Flags = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"];
        // WAIT_KILLABLE_RECV only with a listener (the kernel refuses it alone: EINVAL).
        Assert.Equal(1u | 2 | 4, (uint)SeccompCompiler.Compile(spec).Flags);
        Assert.Equal(SeccompFilterFlags.None, SeccompCompiler.Compile(Policy("SCMP_ACT_ALLOW")).Flags);
    }

    [Fact]
    public void UnconditionalRuleDecidesTheSyscallAlone()
    {
        // As libseccomp: a rule without arguments overrides conditional rules for the
        // same syscall, whatever their order; the first unconditional rule wins.
        var spec = Policy("SCMP_ACT_ERRNO",
            Rule("SCMP_ACT_ERRNO", "mkdir", Arg(1, "EQ", 0)),
            Rule("SCMP_ACT_ALLOW", "mkdir"),
            Rule("SCMP_ACT_TRAP", "mkdir"));
        spec.Syscalls![0].ErrnoRet = 5;
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "mkdir", SeccompArch.X86_64, 0, 0));
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "mkdir", SeccompArch.X86_64, 0, 1));
    }

    [Fact]
    public void RulesWithTheDefaultActionAreDropped()
    {
        // runc drops them: a default-action rule neither shields nor adds anything.
        var spec = Policy("SCMP_ACT_ERRNO",
            Rule("SCMP_ACT_ERRNO", "mkdir", Arg(0, "EQ", 7)),
            Rule("SCMP_ACT_ALLOW", "mkdir", Arg(1, "GE", 0)),
            Rule("SCMP_ACT_ERRNO", "getpid"));
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "mkdir", SeccompArch.X86_64, 7, 0));
        Assert.Equal(Errno(1), Verdict(p, "getpid"));
        // An ERRNO with a different errno is not the default action and is kept.
        var other = Policy("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ERRNO", "getpid"));
        other.Syscalls![0].ErrnoRet = 2;
        Assert.Equal(Errno(2), Verdict(SeccompCompiler.Compile(other), "getpid"));
    }

    [Fact]
    public void ManyConditionalSyscallsNeedLongJumpsAndStayCorrect()
    {
        // 200 syscalls, each with a 64-bit argument test, spread the program far beyond the
        // 255-instruction reach of a conditional jump.
        var names = Enumerable.Range(0, 330).Select(nr => Name(SeccompArch.X86_64, (uint)nr)).OfType<string>().Take(200).ToArray();
        var rules = names.Select((n, i) => Rule("SCMP_ACT_ALLOW", n, Arg((uint)(i % 6), "GT", 0x1_0000_0000UL + (ulong)i))).ToArray();
        var spec = Policy("SCMP_ACT_ERRNO", rules);
        spec.Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.True(p.InstructionCount > 1000, $"{p.InstructionCount}");
        for (int i = 0; i < names.Length; i++)
        {
            var hit = new ulong[6];
            var miss = new ulong[6];
            hit[i % 6] = 0x1_0000_0001UL + (ulong)i;
            miss[i % 6] = 0x1_0000_0000UL + (ulong)i;
            Assert.Equal(SeccompReturn.Allow, Verdict(p, names[i], SeccompArch.X86_64, hit));
            Assert.Equal(Errno(1), Verdict(p, names[i], SeccompArch.X86_64, miss));
            if (SyscallTable.TryGetNumber(SeccompArch.X86, names[i], out uint nr32))
            {
                // 32-bit ABI: the value is truncated to its low word, so 1 + i > i matches.
                var low = new ulong[6];
                low[i % 6] = (ulong)i + 1;
                Assert.Equal(SeccompReturn.Allow, Verdict(p, nr32, AuditArch.I386, low));
            }
        }
    }

    [Fact]
    public void TooManyInstructionsIsAClearError()
    {
        var names = Enumerable.Range(0, 330).Select(nr => Name(SeccompArch.X86_64, (uint)nr)).OfType<string>().ToArray();
        var rules = names.Select(n => new LinuxSyscall
        {
            Names = [n],
            Action = "SCMP_ACT_ALLOW",
            Args = [Arg(0, "GT", 1UL << 33), Arg(1, "LT", 5), Arg(2, "MASKED_EQ", 0xF0F0_0000_F0F0, 0x1010_0000_1010)],
        }).ToArray();
        var spec = Policy("SCMP_ACT_ERRNO", rules);
        spec.Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
        var ex = Assert.Throws<SeccompException>(() => SeccompCompiler.Compile(spec));
        Assert.Contains("more than the kernel limit of 4096", ex.Message);
    }

    private static string? Name(SeccompArch arch, uint nr) => Names(arch).TryGetValue(nr, out string? n) ? n : null;

    private static readonly Dictionary<SeccompArch, Dictionary<uint, string>> ReverseTables = new();

    private static Dictionary<uint, string> Names(SeccompArch arch)
    {
        lock (ReverseTables)
        {
            if (!ReverseTables.TryGetValue(arch, out var map))
            {
                // Reverse the table through the generated file's own name list.
                map = new Dictionary<uint, string>();
                string file = File.ReadAllText(Path.Combine(RepoPaths.Root, "oci", "Dune.Oci", "Seccomp", "SyscallTable.g.cs"));
                foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(file, "\"([a-z0-9_]+)\" => "))
                {
                    string name = m.Groups[1].Value;
                    if (SyscallTable.TryGetNumber(arch, name, out uint nr))
                        map.TryAdd(nr, name);
                }
                ReverseTables[arch] = map;
            }
            return map;
        }
    }
}
