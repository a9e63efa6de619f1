using System.Text.Json;
using Dune.Oci.Lifecycle;
using Dune.Oci.Seccomp;
using Dune.Oci.Spec;
using Xunit;
using static Dune.Oci.Tests.Seccomp.SeccompTestKit;

namespace Dune.Oci.Tests.Seccomp;

// SCMP_ACT_NOTIFY as a container gets it: the listener it needs, and what Dune mode can notify.
public class SeccompNotifyTests
{
    private static LinuxSeccomp NotifyMkdir(string? listener = "/run/agent.sock") => new()
    {
        DefaultAction = "SCMP_ACT_ALLOW",
        ListenerPath = listener,
        Syscalls = [Rule("SCMP_ACT_NOTIFY", "mkdir", "mkdirat")],
    };

    [Theory]
    [InlineData(DuneMode.Native)]
    [InlineData(DuneMode.Dune)]
    public void NotifyWithoutAListenerPathIsRefused(string mode)
    {
        foreach (var listener in new[] { null, "" })
        {
            var ex = Assert.Throws<RuntimeError>(() => KernelSeccomp.For(NotifyMkdir(listener), mode));
            Assert.Contains("linux.seccomp.listenerPath: seccomp listenerPath is not set", ex.Message);
        }
        // A listener without notify rules is simply unused, as with runc.
        var plain = new LinuxSeccomp { DefaultAction = "SCMP_ACT_ALLOW", ListenerPath = "/run/agent.sock", Syscalls = [Rule("SCMP_ACT_ERRNO", "mkdir")] };
        Assert.False(KernelSeccomp.For(plain, mode)!.HasListener);
    }

    [Fact]
    public void NativeModeNotifiesWhatThePolicySays()
    {
        var program = KernelSeccomp.For(NotifyMkdir(), DuneMode.Native)!;
        Assert.True(program.HasListener);
        Assert.Equal(SeccompReturn.UserNotif, Verdict(program, "mkdir"));
        Assert.Equal(SeccompReturn.Allow, Verdict(program, "openat"));
    }

    [Fact]
    public void DuneModeCarriesTheNotifyRulesIntoTheKernelFilterUnderTheMonitor()
    {
        var program = KernelSeccomp.For(NotifyMkdir(), DuneMode.Dune)!;
        Assert.True(program.HasListener);
        Assert.Equal(SeccompReturn.UserNotif, Verdict(program, "mkdir"));
        Assert.Equal(SeccompReturn.UserNotif, Verdict(program, "mkdirat"));
        // The monitor's own calls stay allowed underneath.
        Assert.Equal(SeccompReturn.Allow, Verdict(program, "ioctl"));
    }

    [Theory]
    [InlineData("openat")]  // a monitor call: the kernel filter allows it first
    [InlineData("chmod")]   // a path call the monitor makes on the checked descriptor
    [InlineData("mmap")]    // emulated by the monitor
    [InlineData("execve")]
    public void DuneModeRefusesNotifyOnCallsTheMonitorDoesNotForwardAsMade(string name)
    {
        var policy = NotifyMkdir();
        policy.Syscalls!.Add(Rule("SCMP_ACT_NOTIFY", "rmdir", name));
        var ex = Assert.Throws<RuntimeError>(() => KernelSeccomp.For(policy, DuneMode.Dune));
        Assert.Contains($"linux.seccomp.syscalls[1].names: SCMP_ACT_NOTIFY on \"{name}\" is not supported in Dune mode", ex.Message);
        Assert.True(KernelSeccomp.For(policy, DuneMode.Native)!.HasListener);
    }

    // The create-time list must name every call libdune emulates (sb_syscall's switch) or makes
    // on a checked descriptor (sb_is_path_call); dune-run refuses those too, but only at start.
    [Fact]
    public void DuneModeRefusesEveryCallLibduneDoesNotForwardAsMade()
    {
        static IEnumerable<string> Cases(string file, string function)
        {
            string text = File.ReadAllText(Path.Combine(RepoPaths.Root, "libdune", "src", file));
            int start = text.IndexOf(function, StringComparison.Ordinal);
            Assert.True(start >= 0, $"{function} not found in {file}");
            int end = text.IndexOf("\n}\n", start, StringComparison.Ordinal);
            return System.Text.RegularExpressions.Regex.Matches(text[start..end], @"case SYS_(\w+):")
                .Select(m => m.Groups[1].Value);
        }

        var emulated = Cases("syscalls.c", "long sb_syscall(").ToList();
        var pathCalls = Cases("pathcalls.c", "bool sb_is_path_call(").ToList();
        Assert.Contains("mmap", emulated);
        Assert.Contains("chmod", pathCalls);
        var refused = MonitorSeccomp.MonitorCalls.Concat(MonitorSeccomp.DecidedByTheMonitor).ToHashSet();
        var missing = emulated.Concat(pathCalls).Except(refused).ToList();
        Assert.True(missing.Count == 0, $"not refused for notify in Dune mode: {string.Join(", ", missing)}");
    }

    [Fact]
    public void TheAgentGetsTheContainerProcessStateFieldsOfTheRuntimeSpec()
    {
        var doc = new ContainerProcessState
        {
            Fds = [ContainerProcessState.SeccompFdName],
            Pid = 42,
            Metadata = "bar",
            State = OciState.From(new ContainerState { Id = "c1", Pid = 41, Status = "creating", Bundle = "/b", Rootfs = "/b/rootfs" }),
        };
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(doc, SpecJsonContext.Default.ContainerProcessState));
        var root = json.RootElement;
        Assert.Equal(SpecVersion.Current, root.GetProperty("ociVersion").GetString());
        Assert.Equal("seccompFd", root.GetProperty("fds")[0].GetString());
        Assert.Equal(42, root.GetProperty("pid").GetInt32());
        Assert.Equal("bar", root.GetProperty("metadata").GetString());
        var state = root.GetProperty("state");
        Assert.Equal("c1", state.GetProperty("id").GetString());
        Assert.Equal(41, state.GetProperty("pid").GetInt32());
        Assert.Equal("creating", state.GetProperty("status").GetString());
        Assert.Equal("/b", state.GetProperty("bundle").GetString());
        // The runtime-spec's state fields only, as runc sends them.
        Assert.Equal(["ociVersion", "id", "status", "pid", "bundle"], state.EnumerateObject().Select(p => p.Name));
        // No metadata: the field is left out (runc: omitempty).
        doc.Metadata = null;
        Assert.DoesNotContain("metadata", JsonSerializer.Serialize(doc, SpecJsonContext.Default.ContainerProcessState));
    }
}
