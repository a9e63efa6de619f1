using Dune.Oci.Seccomp;
using Dune.Oci.Spec;
using Xunit;

namespace Dune.Oci.Tests.Seccomp;

// `dune features` must not claim what the compiler refuses, nor leave out what it accepts.
public class SeccompNamesTests
{
    [Fact]
    public void EveryReportedNameCompiles()
    {
        foreach (var action in SeccompNames.Actions)
            foreach (var op in SeccompNames.Operators)
                SeccompCompiler.Compile(new LinuxSeccomp
                {
                    DefaultAction = "SCMP_ACT_ALLOW",
                    Architectures = SeccompNames.Architectures.ToList(),
                    Flags = SeccompNames.Flags.ToList(),
                    Syscalls = new() { new LinuxSyscall { Names = new() { "mkdir" }, Action = action, Args = new() { new LinuxSeccompArg { Index = 1, Value = 1, Op = op } } } },
                });
    }

    [Fact]
    public void NotifyIsReportedOnlyWhereTheKernelHasUserNotif()
    {
        Assert.Contains("SCMP_ACT_NOTIFY", SeccompNames.SupportedActions("kill_process kill_thread trap errno user_notif trace log allow\n"));
        var old = SeccompNames.SupportedActions("kill_process kill_thread trap errno trace log allow\n");
        Assert.DoesNotContain("SCMP_ACT_NOTIFY", old);
        Assert.Equal(SeccompNames.Actions.Count - 1, old.Count);
    }
}
