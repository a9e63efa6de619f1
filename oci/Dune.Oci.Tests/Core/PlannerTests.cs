using Dune.Oci.Linux;
using Dune.Oci.Plan;
using Dune.Oci.Planning;
using Dune.Oci.Seccomp;
using Dune.Oci.Spec;
using Xunit;

namespace Dune.Oci.Tests.Core;

public class PlannerTests
{
    private static CreateOptions Options(Action<RuntimeSpec>? change = null, SeccompProgram? seccomp = null, int? console = null)
    {
        var spec = DefaultSpec.Create(false);
        spec.Process!.Terminal = console is not null;
        change?.Invoke(spec);
        return new CreateOptions
        {
            Id = "c1", Bundle = "/b", Rootfs = "/b/rootfs", Spec = spec, ExecFifo = "/run/dune/c1/exec.fifo",
            CgroupJoinFiles = new[] { "/sys/fs/cgroup/memory/dune/c1/tasks", "/sys/fs/cgroup/cpu,cpuacct/dune/c1/tasks", "/sys/fs/cgroup/unified/dune/c1/cgroup.procs" },
            CgroupDirectories = new[] { "/sys/fs/cgroup/memory/dune/c1", "/sys/fs/cgroup/cpu,cpuacct/dune/c1" },
            CgroupV1 = true,
            Seccomp = seccomp, ConsoleFd = console, LastCap = 40,
        };
    }

    private static int IndexOf(List<PlanStep> steps, PlanOp op, Func<PlanStep, bool>? where = null) =>
        steps.FindIndex(s => s.Op == op && (where?.Invoke(s) ?? true));

    [Fact]
    public void TheInitJoinsV1ThroughTasksAndTheParentMovesItIntoCgroup2()
    {
        var steps = ContainerPlanner.BuildCreate(Options());
        int clone = IndexOf(steps, PlanOp.Clone);
        Assert.Equal(PlanOp.FifoOpen, steps[clone - 1].Op);
        ulong flags = steps[clone].U64Arg(0);
        // The cgroup namespace is not made by the clone: the child is not in its cgroups yet.
        Assert.Equal(NamespaceTypes.NewPid | NamespaceTypes.NewNet | NamespaceTypes.NewIpc | NamespaceTypes.NewUts | NamespaceTypes.NewNs, flags);
        Assert.Equal("", steps[clone].StringArg(1)); // no user namespace: no maps
        Assert.Equal(4, steps[clone].Args.Count);
        Assert.Equal("/sys/fs/cgroup/unified/dune/c1/cgroup.procs", steps[clone].StringArg(3));
        // v1: the init moves itself, right after the clone.
        Assert.Equal(new[] { "/sys/fs/cgroup/memory/dune/c1/tasks", "/sys/fs/cgroup/cpu,cpuacct/dune/c1/tasks" },
            new[] { steps[clone + 1].StringArg(0), steps[clone + 2].StringArg(0) });
        Assert.All(new[] { steps[clone + 1], steps[clone + 2] }, s => Assert.Equal(PlanOp.JoinCgroup, s.Op));
        int wait = IndexOf(steps, PlanOp.CgroupWait);
        Assert.Equal(1UL, steps[wait].U64Arg(0));
        Assert.True(wait < IndexOf(steps, PlanOp.Sync));
        Assert.Equal(-1, IndexOf(steps, PlanOp.Unshare));
    }

    [Fact]
    public void PureV1HostUnsharesTheCgroupNamespaceAfterTheJoins()
    {
        var steps = ContainerPlanner.BuildCreate(Options() with { CgroupJoinFiles = new[] { "/sys/fs/cgroup/pids/dune/c1/tasks" } });
        int clone = IndexOf(steps, PlanOp.Clone);
        Assert.Equal(3, steps[clone].Args.Count);
        Assert.Equal(PlanOp.JoinCgroup, steps[clone + 1].Op);
        Assert.Equal(PlanOp.Unshare, steps[clone + 2].Op);
        Assert.Equal(NamespaceTypes.NewCgroup, steps[clone + 2].U64Arg(0));
        Assert.Equal(-1, IndexOf(steps, PlanOp.CgroupWait));
    }

    [Fact]
    public void ANewNetworkNamespaceGetsLoopbackUp()
    {
        var steps = ContainerPlanner.BuildCreate(Options());
        Assert.True(IndexOf(steps, PlanOp.LoopbackUp) > IndexOf(steps, PlanOp.Clone));
        var joined = ContainerPlanner.BuildCreate(Options(s =>
        {
            s.Linux!.Namespaces!.RemoveAll(n => n.Type == "network");
            s.Linux.Namespaces.Add(new LinuxNamespace { Type = "network", Path = "/proc/1/ns/net" });
        }));
        Assert.Equal(-1, IndexOf(joined, PlanOp.LoopbackUp));
    }

    [Fact]
    public void WithoutACgroupNamespaceCgroupWaitOnlyWaits()
    {
        var steps = ContainerPlanner.BuildCreate(Options(s => s.Linux!.Namespaces!.RemoveAll(n => n.Type == "cgroup")));
        Assert.Equal(0UL, steps[IndexOf(steps, PlanOp.CgroupWait)].U64Arg(0));
        Assert.Equal(-1, IndexOf(steps, PlanOp.Unshare));
    }

    [Fact]
    public void NamespacesGivenByPathAreJoinedUserFirst()
    {
        var steps = ContainerPlanner.BuildCreate(Options(s =>
        {
            s.Linux!.Namespaces!.RemoveAll(n => n.Type is "network");
            s.Linux.Namespaces.Add(new LinuxNamespace { Type = "network", Path = "/proc/1/ns/net" });
            s.Linux.Namespaces.Add(new LinuxNamespace { Type = "user", Path = "/proc/1/ns/user" });
        }));
        var setns = steps.Where(s => s.Op == PlanOp.Setns).ToList();
        Assert.Equal(new[] { NamespaceTypes.NewUser, NamespaceTypes.NewNet }, setns.Select(s => s.U64Arg(0)));
        Assert.Equal(0UL, steps[IndexOf(steps, PlanOp.Clone)].U64Arg(0) & NamespaceTypes.NewNet);
    }

    [Fact]
    public void UserNamespaceCarriesMapsAndBindsDevices()
    {
        var steps = ContainerPlanner.BuildCreate(Options(s =>
        {
            s.Linux!.Namespaces!.Add(new LinuxNamespace { Type = "user" });
            s.Linux.UidMappings = new() { new IdMapping { ContainerId = 0, HostId = 100000, Size = 65536 } };
            s.Linux.GidMappings = new() { new IdMapping { ContainerId = 0, HostId = 100000, Size = 65536 } };
        }));
        var clone = steps[IndexOf(steps, PlanOp.Clone)];
        Assert.Equal("0 100000 65536\n", clone.StringArg(1));
        // The init is not host root any more: the parent moves it into every hierarchy.
        Assert.Equal(6, clone.Args.Count);
        Assert.Equal(-1, IndexOf(steps, PlanOp.JoinCgroup));
        Assert.Equal(-1, IndexOf(steps, PlanOp.Mknod, s => s.StringArg(0) == "/dev/null"));
        Assert.True(IndexOf(steps, PlanOp.Mount, s => s.StringArg(0) == "/dev/null" && (s.U64Arg(3) & MountFlags.Bind) != 0) > 0);
    }

    [Fact]
    public void DefaultDevicesAreCreatedAndLinked()
    {
        var steps = ContainerPlanner.BuildCreate(Options());
        var nul = steps[IndexOf(steps, PlanOp.Mknod, s => s.StringArg(0) == "/dev/null")];
        Assert.Equal(0x2000UL | 0x1b6, nul.U64Arg(1));
        Assert.Equal(ContainerPlanner.MakeDev(1, 3), nul.U64Arg(2));
        Assert.True(IndexOf(steps, PlanOp.Symlink, s => s.StringArg(1) == "/dev/ptmx" && s.StringArg(0) == "pts/ptmx") > 0);
    }

    [Fact]
    public void SysctlsAreWrittenBeforeProcSysIsMadeReadOnly()
    {
        var steps = ContainerPlanner.BuildCreate(Options(s => s.Linux!.Sysctl = new() { ["net.ipv4.ip_forward"] = "1" }));
        int write = IndexOf(steps, PlanOp.WriteFile, s => s.StringArg(0) == "/proc/sys/net/ipv4/ip_forward");
        int ro = IndexOf(steps, PlanOp.ReadonlyPath, s => s.StringArg(0) == "/proc/sys");
        Assert.True(write > IndexOf(steps, PlanOp.PivotRoot));
        Assert.True(write < ro);
    }

    [Fact]
    public void LifecycleOrder()
    {
        var steps = ContainerPlanner.BuildCreate(Options(s => s.Hooks = new Hooks
        {
            CreateContainer = new() { new Hook { Path = "/bin/cc" } },
            StartContainer = new() { new Hook { Path = "/bin/sc", Args = new() { "sc", "x" }, Timeout = 3 } },
        }));
        int[] order =
        {
            IndexOf(steps, PlanOp.FifoOpen), IndexOf(steps, PlanOp.Rootfs), IndexOf(steps, PlanOp.Sync),
            IndexOf(steps, PlanOp.RunHook, s => s.StringArg(1) == "/bin/cc"), IndexOf(steps, PlanOp.PivotRoot),
            IndexOf(steps, PlanOp.MaskPath), IndexOf(steps, PlanOp.CapBounding), IndexOf(steps, PlanOp.SetUser),
            IndexOf(steps, PlanOp.Caps), IndexOf(steps, PlanOp.Chdir, s => s.U64Arg(1) == 2), IndexOf(steps, PlanOp.ResolveExec),
            IndexOf(steps, PlanOp.Ready), IndexOf(steps, PlanOp.FifoWait), IndexOf(steps, PlanOp.RunHook, s => s.StringArg(1) == "/bin/sc"),
            IndexOf(steps, PlanOp.NoNewPrivs), IndexOf(steps, PlanOp.Exec),
        };
        Assert.DoesNotContain(-1, order);
        Assert.Equal(order.OrderBy(i => i), order);
        Assert.Equal(PlanOp.Exec, steps[^1].Op);
        var sc = steps[order[13]];
        Assert.Equal("startContainer hook #0", sc.StringArg(0));
        Assert.Equal(3UL, sc.U64Arg(2));
        Assert.Equal(2UL, sc.U64Arg(3));
        Assert.Equal("x", sc.StringArg(5));
    }

    [Fact]
    public void SeccompGoesLastWithNoNewPrivilegesAndBeforeCapsWithout()
    {
        var program = new SeccompProgram(new byte[8], 0, Array.Empty<string>());
        var with = ContainerPlanner.BuildCreate(Options(seccomp: program));
        Assert.True(IndexOf(with, PlanOp.Seccomp) > IndexOf(with, PlanOp.NoNewPrivs));
        Assert.True(IndexOf(with, PlanOp.Seccomp) > IndexOf(with, PlanOp.FifoWait));

        var without = ContainerPlanner.BuildCreate(Options(s => s.Process!.NoNewPrivileges = false, program));
        Assert.Equal(-1, IndexOf(without, PlanOp.NoNewPrivs));
        Assert.True(IndexOf(without, PlanOp.Seccomp) < IndexOf(without, PlanOp.CapBounding));
    }

    [Fact]
    public void AFilterWithAListenerIsLoadedWhileThePlanSocketIsOpen()
    {
        // Its descriptor travels up the plan socket to the seccomp agent: before READY (as runc
        // loads it before its init reports ready), once, with no_new_privs before it.
        var program = new SeccompProgram(new byte[8], SeccompFilterFlags.NewListener, Array.Empty<string>());
        var with = ContainerPlanner.BuildCreate(Options(seccomp: program));
        Assert.Single(with, s => s.Op == PlanOp.Seccomp);
        Assert.Single(with, s => s.Op == PlanOp.NoNewPrivs);
        Assert.True(IndexOf(with, PlanOp.NoNewPrivs) < IndexOf(with, PlanOp.Seccomp));
        Assert.True(IndexOf(with, PlanOp.Seccomp) > IndexOf(with, PlanOp.ResolveExec));
        Assert.True(IndexOf(with, PlanOp.Seccomp) < IndexOf(with, PlanOp.Ready));
        Assert.True(IndexOf(with, PlanOp.Seccomp) < IndexOf(with, PlanOp.CloseSocket));

        var without = ContainerPlanner.BuildCreate(Options(s => s.Process!.NoNewPrivileges = false, program));
        Assert.Single(without, s => s.Op == PlanOp.Seccomp);
        Assert.True(IndexOf(without, PlanOp.Seccomp) < IndexOf(without, PlanOp.CapBounding));
    }

    [Fact]
    public void AmbientCapabilitiesNeedPermittedAndInheritable()
    {
        var steps = ContainerPlanner.BuildCreate(Options(s =>
        {
            s.Process!.Capabilities!.Inheritable = new() { "CAP_KILL" };
        }));
        var caps = steps[IndexOf(steps, PlanOp.Caps)];
        Assert.Equal(1UL << 5, caps.U64Arg(3));
    }

    [Fact]
    public void BindMountWithFlagsIsRemounted()
    {
        var steps = ContainerPlanner.BuildCreate(Options(s => s.Mounts!.Add(new Mount
        {
            Destination = "/data", Type = "bind", Source = "/tmp", Options = new() { "rbind", "ro", "nosuid", "rprivate" },
        })));
        int bind = IndexOf(steps, PlanOp.Mount, s => s.StringArg(1) == "/data" && s.StringArg(0) == "/tmp");
        Assert.Equal(MountFlags.Bind | MountFlags.Rec, steps[bind].U64Arg(3));
        Assert.Equal((ulong)(MountHow.TargetInRootfs | MountHow.MakeDirectory), steps[bind].U64Arg(5));
        Assert.Equal(MountFlags.Remount | MountFlags.Bind | MountFlags.RdOnly | MountFlags.NoSuid, steps[bind + 1].U64Arg(3));
        Assert.Equal(MountFlags.Private | MountFlags.Rec, steps[bind + 2].U64Arg(3));
    }

    [Fact]
    public void CgroupMountBindsEachV1HierarchyReadOnly()
    {
        var steps = ContainerPlanner.BuildCreate(Options());
        var cg = steps.Where(s => s.Op == PlanOp.Mount && s.StringArg(1).StartsWith("/sys/fs/cgroup")).ToList();
        Assert.Equal("tmpfs", cg[0].StringArg(2));
        Assert.Contains(cg, s => s.StringArg(0) == "/sys/fs/cgroup/memory/dune/c1" && s.StringArg(1) == "/sys/fs/cgroup/memory");
        Assert.Contains(cg, s => s.StringArg(1) == "/sys/fs/cgroup/memory" && (s.U64Arg(3) & MountFlags.RdOnly) != 0);
        Assert.Contains(steps, s => s.Op == PlanOp.Symlink && s.StringArg(0) == "cpu,cpuacct" && s.StringArg(1) == "/sys/fs/cgroup/cpuacct");
    }

    [Fact]
    public void CgroupMountOnV2BindsTheContainersCgroup()
    {
        var o = Options() with { CgroupDirectories = new[] { "/sys/fs/cgroup/dune/c1" }, CgroupV1 = false };
        var steps = ContainerPlanner.BuildCreate(o);
        var cg = steps.Where(s => s.Op == PlanOp.Mount && s.StringArg(1) == "/sys/fs/cgroup").ToList();
        Assert.Equal("/sys/fs/cgroup/dune/c1", cg[0].StringArg(0));
        Assert.Equal(MountFlags.Bind, cg[0].U64Arg(3));
    }

    [Fact]
    public void TerminalGetsConsoleAfterSetsid()
    {
        var steps = ContainerPlanner.BuildCreate(Options(console: 7));
        int setsid = IndexOf(steps, PlanOp.Setsid), console = IndexOf(steps, PlanOp.Console);
        Assert.True(setsid >= 0 && console > setsid);
        Assert.Equal(7UL, steps[console].U64Arg(0));
        Assert.True(IndexOf(steps, PlanOp.Mknod, s => s.StringArg(0) == "/dev/console") > 0);
    }

    [Fact]
    public void ExecEnvironmentAndArgsAreInOrder()
    {
        var steps = ContainerPlanner.BuildCreate(Options(s =>
        {
            s.Process!.Args = new() { "sh", "-c", "echo hi" };
            s.Process.Env = new() { "A=1", "PATH=/bin" };
        }));
        var exec = steps[^1];
        Assert.Equal(3UL, exec.U64Arg(0));
        Assert.Equal(new[] { "sh", "-c", "echo hi", "A=1", "PATH=/bin" }, Enumerable.Range(1, 5).Select(exec.StringArg));
        var resolve = steps[IndexOf(steps, PlanOp.ResolveExec)];
        Assert.Equal("/bin", resolve.StringArg(1));
    }

    [Fact]
    public void DeviceCgroupDenyAllGetsAllowRulesForDefaultDevices()
    {
        var r = DeviceCgroupRules.WithDefaults(new LinuxResources { Devices = new() { new LinuxDeviceCgroup { Allow = false, Access = "rwm" } } });
        Assert.False(r.Devices![0].Allow);
        Assert.Contains(r.Devices, d => d.Allow && d.Major == 1 && d.Minor == 3);
        Assert.Contains(r.Devices, d => d.Allow && d.Major == 136 && d.Minor is null);
        // runc's always-allowed devices and nothing else: a linux.devices entry (/dev/fuse, 10:229) gets no rule.
        Assert.DoesNotContain(r.Devices, d => d.Major == 10);
        Assert.Null(DeviceCgroupRules.WithDefaults(null).Devices);
    }

    [Fact]
    public void PlanMessagesRoundTrip()
    {
        var step = new PlanStep(PlanOp.Mount, "src", "/t", "tmpfs", 6UL, "mode=755", 3UL);
        var m = new PlanMessage(PlanMessageKind.Step, (uint)step.Op, step.Args);
        var back = PlanMessage.Decode(m.Encode());
        Assert.Equal(PlanMessageKind.Step, back.Kind);
        Assert.Equal((uint)PlanOp.Mount, back.Op);
        Assert.Equal("mode=755", back.Str(4));
        Assert.Equal(6UL, back.U64(3));
        Assert.Throws<RuntimeError>(() => PlanMessage.Decode(new byte[5]));
    }
}
