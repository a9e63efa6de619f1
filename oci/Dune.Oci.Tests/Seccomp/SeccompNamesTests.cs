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
    public void SupportedFlagsAreTheOnesTheKernelAccepts()
    {
        var asked = new List<SeccompFilterFlags>();
        var supported = SeccompNames.SupportedFlags(f => { asked.Add(f); return f != (SeccompFilterFlags.WaitKillableRecv | SeccompFilterFlags.NewListener); });
        Assert.Equal(SeccompNames.Flags.Count, asked.Count);
        Assert.DoesNotContain("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", supported);
        Assert.Equal(SeccompNames.Flags.Count - 1, supported.Count);
        // Each name means the value the compiler gives it.
        foreach (var name in SeccompNames.Flags)
        {
            var spec = new LinuxSeccomp { DefaultAction = "SCMP_ACT_ALLOW", Flags = [name], ListenerPath = "/a",
                Syscalls = [new LinuxSyscall { Names = ["mkdir"], Action = "SCMP_ACT_NOTIFY" }] };
            Assert.True(SeccompCompiler.Compile(spec).Flags.HasFlag(SeccompNames.FlagValue(name)), name);
        }
    }

    [Fact]
    public void TheFlagsProbeAsksTheKernelWithoutLoadingAFilter()
    {
        static string Filters() => File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("Seccomp_filters:", StringComparison.Ordinal));
        string before = Filters();
        Assert.True(Dune.Oci.Interop.SeccompFlagsProbe.KernelAccepts(SeccompFilterFlags.Log));
        Assert.False(Dune.Oci.Interop.SeccompFlagsProbe.KernelAccepts((SeccompFilterFlags)(1u << 30)));
        // The kernel refuses WAIT_KILLABLE_RECV without a listener, whatever its version.
        Assert.False(Dune.Oci.Interop.SeccompFlagsProbe.KernelAccepts(SeccompFilterFlags.WaitKillableRecv));
        Assert.Equal(before, Filters());
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
