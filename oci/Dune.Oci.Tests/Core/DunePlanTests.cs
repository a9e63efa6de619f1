using Dune.Oci.Lifecycle;
using Dune.Oci.Plan;
using Dune.Oci.Planning;
using Dune.Oci.Seccomp;
using Dune.Oci.Spec;
using Xunit;

namespace Dune.Oci.Tests.Core;

public class DunePlanTests
{
    private static CreateOptions Options(DuneProcess? dune) => new()
    {
        Id = "c1", Bundle = "/b", Rootfs = "/b/rootfs", Spec = NonTerminalSpec(),
        ExecFifo = "/run/dune/c1/exec.fifo",
        CgroupJoinFiles = new[] { "/sys/fs/cgroup/devices/dune/c1/tasks" },
        Dune = dune,
    };

    private static RuntimeSpec NonTerminalSpec()
    {
        var spec = DefaultSpec.Create(false);
        spec.Process!.Terminal = false;
        return spec;
    }

    [Fact]
    public void DuneOpenComesFirstAndDuneExecLast()
    {
        var dune = new DuneProcess("/opt/dune-run", "/run/dune/c1/dune-policy.json", "/run/dune/c1/dune-stats", null);
        var steps = ContainerPlanner.BuildCreate(Options(dune));
        // Before the device cgroup and the root switch: /dev/kvm and dune-run are host files.
        Assert.Equal(PlanOp.DuneOpen, steps[0].Op);
        Assert.Equal(new[] { "/opt/dune-run", "/dev/kvm", "/run/dune/c1/dune-policy.json", "/run/dune/c1/dune-stats", "" },
            Enumerable.Range(0, 5).Select(steps[0].StringArg));
        Assert.Equal(PlanOp.FifoOpen, steps[1].Op);
        var exec = steps[^1];
        Assert.Equal(PlanOp.DuneExec, exec.Op);
        Assert.Equal(0UL, exec.U64Arg(0));      // no trace
        Assert.Equal(1UL, exec.U64Arg(1));      // argc
        Assert.Equal("sh", exec.StringArg(2));
        Assert.DoesNotContain(steps, s => s.Op == PlanOp.Exec);
    }

    [Fact]
    public void TraceSetsTheDuneExecFlag()
    {
        var steps = ContainerPlanner.BuildCreate(Options(new DuneProcess("/r", null, null, "/run/dune/c1/dune-trace.log")));
        Assert.Equal(1UL, steps[^1].U64Arg(0));
        Assert.Equal("/run/dune/c1/dune-trace.log", steps[0].StringArg(4));
    }

    [Fact]
    public void FastcallOffSetsTheDuneExecFlag()
    {
        var off = ContainerPlanner.BuildCreate(Options(new DuneProcess("/r", null, null, null, Fastcall: false)));
        Assert.Equal(2UL, off[^1].U64Arg(0));
        var both = ContainerPlanner.BuildCreate(Options(new DuneProcess("/r", null, null, "/t", Fastcall: false)));
        Assert.Equal(3UL, both[^1].U64Arg(0));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("true", true)]
    [InlineData("false", false)]
    public void FastcallAnnotationReachesCreateAndExec(string? value, bool expected)
    {
        var dir = Directory.CreateTempSubdirectory("dune-fastcall-").FullName;
        try
        {
            var spec = NonTerminalSpec();
            if (value is not null) spec.Annotations = new() { [DuneMode.FastcallAnnotation] = value };
            Assert.Equal(expected, DuneFiles.Prepare(dir, spec, DuneBackend.Kvm).Fastcall);
            // `exec` reads the container's setting back from its state dir.
            Assert.Equal(expected, DuneFiles.Existing(dir).Fastcall);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void NativeModeHasNoDuneSteps()
    {
        var steps = ContainerPlanner.BuildCreate(Options(null));
        Assert.DoesNotContain(steps, s => s.Op is PlanOp.DuneOpen or PlanOp.DuneExec);
        Assert.Equal(PlanOp.Exec, steps[^1].Op);
    }

    [Fact]
    public void KernelFilterUnderTheMonitorKeepsTheContainersDenials()
    {
        var policy = new LinuxSeccomp
        {
            DefaultAction = "SCMP_ACT_ALLOW",
            Syscalls = new() { new LinuxSyscall { Names = new() { "mkdir", "ioctl" }, Action = "SCMP_ACT_ERRNO", ErrnoRet = 1 } },
        };
        var under = MonitorSeccomp.Underneath(policy);
        // The monitor's calls come first (first unconditional rule wins), the container's rules follow.
        Assert.Equal("SCMP_ACT_ALLOW", under.Syscalls![0].Action);
        Assert.Contains("ioctl", under.Syscalls[0].Names);
        Assert.DoesNotContain("mkdir", under.Syscalls[0].Names);
        Assert.Same(policy.Syscalls![0], under.Syscalls[1]);
        Assert.Equal("SCMP_ACT_ALLOW", under.DefaultAction);
        SeccompCompiler.Compile(under);
    }

    [Fact]
    public void KernelFilterUnderTheMonitorDefaultsToTheDefaultProfile()
    {
        var under = MonitorSeccomp.Underneath(null);
        Assert.Equal(DefaultSeccompProfile.Create().DefaultAction, under.DefaultAction);
        Assert.True(SeccompCompiler.Compile(under).InstructionCount < SeccompProgram.MaxInstructions);
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("true", true)]
    [InlineData("false", false)]
    public void StatsAnnotation(string? value, bool expected)
    {
        var a = value is null ? null : new Dictionary<string, string> { [DuneMode.StatsAnnotation] = value };
        Assert.Equal(expected, DuneMode.Flag(a, DuneMode.StatsAnnotation, true));
    }

    [Fact]
    public void BadFlagAnnotationIsAnError() =>
        Assert.Throws<RuntimeError>(() => DuneMode.Flag(new Dictionary<string, string> { [DuneMode.TraceAnnotation] = "yes" }, DuneMode.TraceAnnotation, false));
}
