using Dune.Oci.Seccomp;
using Xunit;
using Xunit.Abstractions;
using static Dune.Oci.Tests.Seccomp.SeccompTestKit;

namespace Dune.Oci.Tests.Seccomp;

public class DefaultSeccompProfileTests
{
    private const ulong CloneNewUser = 0x10000000, CloneNewNs = 0x00020000, CloneNewNet = 0x40000000;
    private const ulong CloneThreadFlags = 0x003d0f00;   // VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
    private const ulong Sigchld = 17;
    private const ulong AfInet = 2, AfUnix = 1, AfVsock = 40;

    private static readonly SeccompProgram Program = SeccompCompiler.Compile(DefaultSeccompProfile.Create());
    private readonly ITestOutputHelper _output;

    public DefaultSeccompProfileTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void FitsTheKernelLimitWithRoomToSpare()
    {
        _output.WriteLine($"default profile: {Program.InstructionCount} BPF instructions");
        Assert.True(Program.InstructionCount < 4096, $"{Program.InstructionCount} instructions");
        Assert.Empty(Program.Warnings);
        Assert.Equal(SeccompFilterFlags.None, Program.Flags);
        BpfInterpreter.Verify(Program.Filter);
    }

    [Theory]
    [InlineData("read")]
    [InlineData("write")]
    [InlineData("openat")]
    [InlineData("execve")]
    [InlineData("exit_group")]
    [InlineData("mmap")]
    [InlineData("futex")]
    [InlineData("rt_sigreturn")]
    [InlineData("arch_prctl")]
    [InlineData("epoll_pwait")]
    [InlineData("getrandom")]
    [InlineData("chroot")]
    [InlineData("mkdir")]
    [InlineData("setuid")]
    public void OrdinarySyscallsAreAllowed(string name)
    {
        Assert.Equal(SeccompReturn.Allow, Verdict(Program, name));
    }

    [Theory]
    [InlineData("mount")]
    [InlineData("umount2")]
    [InlineData("pivot_root")]
    [InlineData("unshare")]
    [InlineData("setns")]
    [InlineData("reboot")]
    [InlineData("init_module")]
    [InlineData("finit_module")]
    [InlineData("delete_module")]
    [InlineData("kexec_load")]
    [InlineData("bpf")]
    [InlineData("perf_event_open")]
    [InlineData("add_key")]
    [InlineData("keyctl")]
    [InlineData("swapon")]
    [InlineData("settimeofday")]
    [InlineData("clock_settime")]
    [InlineData("open_by_handle_at")]
    [InlineData("name_to_handle_at")]
    [InlineData("pidfd_getfd")]
    [InlineData("mbind")]
    [InlineData("userfaultfd")]
    [InlineData("iopl")]
    [InlineData("fsopen")]
    [InlineData("move_mount")]
    [InlineData("syslog")]
    [InlineData("acct")]
    [InlineData("sethostname")]
    public void PrivilegedSyscallsFailWithEperm(string name)
    {
        Assert.Equal(Errno(1), Verdict(Program, name));
    }

    [Fact]
    public void CloneIsAllowedWithoutNamespaceFlags()
    {
        Assert.Equal(SeccompReturn.Allow, Verdict(Program, "clone", SeccompArch.X86_64, Sigchld));
        Assert.Equal(SeccompReturn.Allow, Verdict(Program, "clone", SeccompArch.X86_64, CloneThreadFlags));
        Assert.Equal(Errno(1), Verdict(Program, "clone", SeccompArch.X86_64, CloneNewUser | Sigchld));
        Assert.Equal(Errno(1), Verdict(Program, "clone", SeccompArch.X86_64, CloneNewNs | Sigchld));
        Assert.Equal(Errno(1), Verdict(Program, "clone", SeccompArch.X86_64, CloneNewNet));
        Assert.Equal(Errno(1), Verdict(Program, "clone", SeccompArch.X86, CloneNewUser | Sigchld));
        Assert.Equal(SeccompReturn.Allow, Verdict(Program, "clone", SeccompArch.X86, Sigchld));
    }

    [Fact]
    public void Clone3ReportsEnosysSoLibcFallsBackToClone()
    {
        Assert.Equal(Errno(38), Verdict(Program, "clone3"));
        Assert.Equal(Errno(38), Verdict(Program, "clone3", SeccompArch.X86));
    }

    [Fact]
    public void VsockSocketsAreRefused()
    {
        Assert.Equal(SeccompReturn.Allow, Verdict(Program, "socket", SeccompArch.X86_64, AfInet, 1, 0));
        Assert.Equal(SeccompReturn.Allow, Verdict(Program, "socket", SeccompArch.X86_64, AfUnix, 1, 0));
        Assert.Equal(Errno(1), Verdict(Program, "socket", SeccompArch.X86_64, AfVsock, 1, 0));
    }

    [Fact]
    public void PersonalityOnlyAcceptsKnownPersonas()
    {
        foreach (ulong ok in new ulong[] { 0, 8, 0x20000, 0x20008, 0xffffffff })
            Assert.Equal(SeccompReturn.Allow, Verdict(Program, "personality", SeccompArch.X86_64, ok));
        foreach (ulong bad in new ulong[] { 0x0040000 /* ADDR_NO_RANDOMIZE */, 1, 0x1_0000_0000 })
            Assert.Equal(Errno(1), Verdict(Program, "personality", SeccompArch.X86_64, bad));
    }

    [Fact]
    public void CompatAbisAreFilteredToo()
    {
        Assert.Equal(SeccompReturn.Allow, Verdict(Program, "read", SeccompArch.X86));
        Assert.Equal(SeccompReturn.Allow, Verdict(Program, "socketcall", SeccompArch.X86));
        Assert.Equal(SeccompReturn.Allow, Verdict(Program, "mkdir", SeccompArch.X86));
        Assert.Equal(Errno(1), Verdict(Program, "mount", SeccompArch.X86));
        Assert.Equal(SeccompReturn.Allow, Verdict(Program, "read", SeccompArch.X32));
        Assert.Equal(Errno(1), Verdict(Program, "mount", SeccompArch.X32));
        Assert.Equal(SeccompReturn.KillProcess, Verdict(Program, 0, AuditArchAarch64));
    }

    [Fact]
    public void DispatchIsShort()
    {
        // Binary search: a common syscall is decided in a few dozen instructions at most.
        byte[] data = new SeccompData(Number(SeccompArch.X86_64, "read"), AuditArch.X86_64, 0, new ulong[6]).ToBytes();
        BpfInterpreter.Run(Program.Filter, data, out int executed);
        _output.WriteLine($"read decided after {executed} instructions");
        Assert.InRange(executed, 1, 20);
    }

    [Fact]
    public void CreateReturnsIndependentCopies()
    {
        var a = DefaultSeccompProfile.Create();
        a.Syscalls!.Clear();
        Assert.NotEmpty(DefaultSeccompProfile.Create().Syscalls!);
    }
}
