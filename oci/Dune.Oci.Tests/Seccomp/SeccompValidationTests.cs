using Dune.Oci.Seccomp;
using Dune.Oci.Spec;
using Xunit;
using static Dune.Oci.Tests.Seccomp.SeccompTestKit;

namespace Dune.Oci.Tests.Seccomp;

public class SeccompValidationTests
{
    private static LinuxSeccomp FourRules(LinuxSyscall fourth) =>
        Policy("SCMP_ACT_ERRNO",
            Rule("SCMP_ACT_ALLOW", "read"),
            Rule("SCMP_ACT_ALLOW", "write"),
            Rule("SCMP_ACT_ALLOW", "close"),
            fourth);

    private static SeccompException Fails(LinuxSeccomp spec) =>
        Assert.Throws<SeccompException>(() => SeccompCompiler.Compile(spec));

    [Fact]
    public void UnknownRuleAction()
    {
        var ex = Fails(FourRules(Rule("SCMP_ACT_FOO", "mkdir")));
        Assert.Equal("linux.seccomp.syscalls[3].action: unknown action \"SCMP_ACT_FOO\"", ex.Message);
        Assert.Equal("linux.seccomp.syscalls[3].action", ex.Field);
    }

    [Fact]
    public void NotifyCompilesToUserNotifWithANewListener()
    {
        var program = SeccompCompiler.Compile(FourRules(Rule("SCMP_ACT_NOTIFY", "mkdir", "mkdirat")));
        Assert.True(program.HasListener);
        Assert.Equal(SeccompReturn.UserNotif, Verdict(program, "mkdir"));
        Assert.Equal(SeccompReturn.UserNotif, Verdict(program, "mkdirat"));
        Assert.Equal(SeccompReturn.Allow, Verdict(program, "read"));
        Assert.Equal(Errno(1), Verdict(program, "rmdir"));
        Assert.False(SeccompCompiler.Compile(FourRules(Rule("SCMP_ACT_ERRNO", "mkdir"))).HasListener);
    }

    [Fact]
    public void NotifyWithTsyncAsksForEsrch()
    {
        var spec = FourRules(Rule("SCMP_ACT_NOTIFY", "mkdir"));
        spec.Flags = ["SECCOMP_FILTER_FLAG_TSYNC"];
        var flags = SeccompCompiler.Compile(spec).Flags;
        Assert.Equal(SeccompFilterFlags.Tsync | SeccompFilterFlags.TsyncEsrch | SeccompFilterFlags.NewListener, flags);
    }

    [Fact]
    public void WaitKillableRecvOnlyGoesWithAListener()
    {
        var spec = FourRules(Rule("SCMP_ACT_ERRNO", "mkdir"));
        spec.Flags = ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_LOG"];
        Assert.Equal(SeccompFilterFlags.Log, SeccompCompiler.Compile(spec).Flags);
        spec.Syscalls![3] = Rule("SCMP_ACT_NOTIFY", "mkdir");
        Assert.Equal(SeccompFilterFlags.Log | SeccompFilterFlags.WaitKillableRecv | SeccompFilterFlags.NewListener,
            SeccompCompiler.Compile(spec).Flags);
    }

    [Fact]
    public void NotifyIsRefusedAsDefaultAndForWriteAsByRunc()
    {
        var asDefault = Fails(Policy("SCMP_ACT_NOTIFY"));
        Assert.Equal("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as default action", asDefault.Message);
        var write = Fails(FourRules(Rule("SCMP_ACT_NOTIFY", "mkdir", "write")));
        Assert.Equal("linux.seccomp.syscalls[3].names: SCMP_ACT_NOTIFY cannot be used for the write syscall", write.Message);
        // Other actions on write are fine, and so is notify on the other calls the setup makes.
        SeccompCompiler.Compile(Policy("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", "write")));
        Assert.True(SeccompCompiler.Compile(FourRules(Rule("SCMP_ACT_NOTIFY", "sendmsg", "sendto", "recvfrom", "close"))).HasListener);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ALLOW")]
    [InlineData("scmp_act_allow")]
    public void UnknownDefaultAction(string action)
    {
        var ex = Fails(Policy(action));
        Assert.Equal($"linux.seccomp.defaultAction: unknown action \"{action}\"", ex.Message);
    }

    [Fact]
    public void UnknownOperator()
    {
        var ex = Fails(FourRules(Rule("SCMP_ACT_ERRNO", "mkdir", Arg(0, "EQ", 1), Arg(1, "XX", 1))));
        Assert.Equal("linux.seccomp.syscalls[3].args[1].op: unknown operator \"SCMP_CMP_XX\"", ex.Message);
    }

    [Fact]
    public void ArgumentIndexAboveFive()
    {
        var ex = Fails(FourRules(Rule("SCMP_ACT_ERRNO", "mkdir", Arg(6, "EQ", 1))));
        Assert.Equal("linux.seccomp.syscalls[3].args[0].index", ex.Field);
        Assert.Contains("6", ex.Detail);
    }

    [Fact]
    public void EmptyNames()
    {
        var ex = Fails(FourRules(new LinuxSyscall { Names = [], Action = "SCMP_ACT_ALLOW" }));
        Assert.Equal("linux.seccomp.syscalls[3].names", ex.Field);
        var blank = Fails(FourRules(new LinuxSyscall { Names = ["mkdir", ""], Action = "SCMP_ACT_ALLOW" }));
        Assert.Equal("linux.seccomp.syscalls[3].names[1]", blank.Field);
    }

    [Fact]
    public void NullEntries()
    {
        var spec = FourRules(Rule("SCMP_ACT_ALLOW", "mkdir"));
        spec.Syscalls![2] = null!;
        Assert.Equal("linux.seccomp.syscalls[2]", Fails(spec).Field);
        var arg = FourRules(new LinuxSyscall { Names = ["mkdir"], Action = "SCMP_ACT_ALLOW", Args = [null!] });
        Assert.Equal("linux.seccomp.syscalls[3].args[0]", Fails(arg).Field);
    }

    [Fact]
    public void UnknownArchitecture()
    {
        var spec = Policy("SCMP_ACT_ALLOW");
        spec.Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"];
        Assert.Equal("linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_Z80\"", Fails(spec).Message);
    }

    [Fact]
    public void UnknownFlag()
    {
        var spec = Policy("SCMP_ACT_ALLOW");
        spec.Flags = ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_BOGUS"];
        Assert.Equal("linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_BOGUS\"", Fails(spec).Message);
    }

    [Fact]
    public void ErrnoRetMustFitSixteenBits()
    {
        var rule = Rule("SCMP_ACT_ERRNO", "mkdir");
        rule.ErrnoRet = 70000;
        Assert.Equal("linux.seccomp.syscalls[3].errnoRet", Fails(FourRules(rule)).Field);
        var spec = Policy("SCMP_ACT_ERRNO");
        spec.DefaultErrnoRet = 65536;
        Assert.Equal("linux.seccomp.defaultErrnoRet", Fails(spec).Field);
    }
}
