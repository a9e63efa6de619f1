using Dune.Oci.Seccomp;
using Xunit;

namespace Dune.Oci.Tests.Seccomp;

/// <summary>The monitor's host calls come from libdune/monitor-calls.txt, which libdune's suite
/// checks against what dune-run really calls ("monitor calls" tests).</summary>
public class MonitorCallsTests
{
    [Fact]
    public void ListIsTheFileBesideLibdune()
    {
        string text = File.ReadAllText(Path.Combine(RepoPaths.Root, "libdune", "monitor-calls.txt"));
        Assert.Equal(MonitorSeccomp.ParseCallList(text), MonitorSeccomp.MonitorCalls);
        Assert.Contains("ioctl", MonitorSeccomp.MonitorCalls);
        Assert.Contains("mincore", MonitorSeccomp.MonitorCalls);
        Assert.Contains("kill", MonitorSeccomp.MonitorCalls);
    }

    [Fact]
    public void EveryCallIsAnX86_64Syscall()
    {
        // A name the table lacks would silently drop out of the kernel filter.
        foreach (string name in MonitorSeccomp.MonitorCalls)
            Assert.True(SyscallTable.TryGetNumber(SeccompArch.X86_64, name, out _), $"{name} is not in SyscallTable");
        Assert.Equal(MonitorSeccomp.MonitorCalls.Count, MonitorSeccomp.MonitorCalls.Distinct().Count());
    }

    [Fact]
    public void KernelFilterUnderADuneProcessAllowsThemWhateverThePolicy()
    {
        var deny = SeccompTestKit.Policy("SCMP_ACT_ERRNO", SeccompTestKit.Rule("SCMP_ACT_ALLOW", "write"));
        SeccompProgram filter = SeccompCompiler.Compile(MonitorSeccomp.Underneath(deny));
        foreach (string name in MonitorSeccomp.MonitorCalls)
            Assert.Equal(SeccompReturn.Allow, SeccompTestKit.Verdict(filter, name));
        Assert.Equal(SeccompTestKit.Errno(1), SeccompTestKit.Verdict(filter, "mkdir"));
    }
}
