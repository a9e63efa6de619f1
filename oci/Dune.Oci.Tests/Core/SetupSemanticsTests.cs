using Dune.Oci.Linux;
using Dune.Oci.Plan;
using Dune.Oci.Planning;
using Dune.Oci.Spec;
using Xunit;

namespace Dune.Oci.Tests.Core;

/// <summary>The planner's side of runc 1.1's setup semantics (issue 9): what steps, in what order.</summary>
public class SetupSemanticsTests
{
    private static CreateOptions Options(Action<RuntimeSpec>? change = null)
    {
        var spec = DefaultSpec.Create(false);
        spec.Process!.Terminal = false;
        change?.Invoke(spec);
        return new CreateOptions
        {
            Id = "c1", Bundle = "/b", Rootfs = "/b/rootfs", Spec = spec, ExecFifo = "/run/dune/c1/exec.fifo",
            CgroupJoinFiles = new[] { "/sys/fs/cgroup/memory/dune/c1/tasks" },
            CgroupDirectories = new[] { "/sys/fs/cgroup/memory/dune/c1" },
            CgroupV1 = true, LastCap = 40,
        };
    }

    private static int IndexOf(List<PlanStep> steps, PlanOp op, Func<PlanStep, bool>? where = null) =>
        steps.FindIndex(s => s.Op == op && (where?.Invoke(s) ?? true));

    [Fact]
    public void CwdIsTriedBeforeTheUserSwitchAndAgainAfterIt()
    {
        var steps = ContainerPlanner.BuildCreate(Options());
        int early = IndexOf(steps, PlanOp.Chdir, s => s.U64Arg(1) == 1), late = IndexOf(steps, PlanOp.Chdir, s => s.U64Arg(1) == 2);
        Assert.True(early >= 0 && late >= 0);
        Assert.True(early < IndexOf(steps, PlanOp.SetUser));
        Assert.True(late > IndexOf(steps, PlanOp.Caps));
    }

    [Theory]
    [InlineData("rro", MountAttr.RdOnly, 0UL)]
    [InlineData("rrw", 0UL, MountAttr.RdOnly)]
    [InlineData("rnoexec", MountAttr.NoExec, 0UL)]
    [InlineData("rnoatime", MountAttr.NoAtime, MountAttr.AtimeMask)]
    [InlineData("rrelatime", MountAttr.RelAtime, MountAttr.AtimeMask)]
    [InlineData("rnosymfollow", MountAttr.NoSymFollow, 0UL)]
    public void RecursiveOptionsBecomeMountAttributes(string option, ulong set, ulong clear)
    {
        var o = MountOptionParser.Parse(new[] { "rbind", option });
        Assert.Equal(set, o.RecursiveSet);
        Assert.Equal(clear, o.RecursiveClear);
        Assert.True(o.HasRecursiveAttrs);
        Assert.Equal("", o.Data);
    }

    [Fact]
    public void RroAddsARecursiveSetattrAfterTheBind()
    {
        var steps = ContainerPlanner.BuildCreate(Options(s => s.Mounts!.Add(new Mount
        { Destination = "/mnt", Type = "bind", Source = "/tmp", Options = new() { "rbind", "rro" } })));
        int bind = IndexOf(steps, PlanOp.Mount, s => s.StringArg(1) == "/mnt");
        int attr = IndexOf(steps, PlanOp.MountSetattr, s => s.StringArg(0) == "/mnt");
        Assert.True(bind >= 0 && attr > bind);
        Assert.Equal(MountAttr.RdOnly, steps[attr].U64Arg(1));
    }

    [Fact]
    public void AReadOnlyDevIsMountedWritableAndRemountedAfterTheRootSwitch()
    {
        var steps = ContainerPlanner.BuildCreate(Options(s => s.Mounts!.First(m => m.Destination == "/dev").Options!.Add("ro")));
        int dev = IndexOf(steps, PlanOp.Mount, s => s.StringArg(1) == "/dev" && s.StringArg(2) == "tmpfs");
        Assert.Equal(0UL, steps[dev].U64Arg(3) & MountFlags.RdOnly);
        int pts = IndexOf(steps, PlanOp.Mount, s => s.StringArg(1) == "/dev/pts");
        int remount = IndexOf(steps, PlanOp.Mount, s => s.StringArg(1) == "/dev" && (s.U64Arg(3) & MountFlags.Remount) != 0);
        Assert.True(pts > dev);
        Assert.True(remount > IndexOf(steps, PlanOp.PivotRoot));
        Assert.NotEqual(0UL, steps[remount].U64Arg(3) & MountFlags.RdOnly);
    }

    [Fact]
    public void TheRootfsParentIsMadePrivateBeforeTheBindAndPropagationIsAppliedAfterThePivot()
    {
        var steps = ContainerPlanner.BuildCreate(Options(s => s.Linux!.RootfsPropagation = "shared"));
        int parent = IndexOf(steps, PlanOp.ParentPrivate);
        int bind = IndexOf(steps, PlanOp.Mount, s => s.StringArg(0) == "/b/rootfs" && s.StringArg(1) == "/b/rootfs");
        int pivot = IndexOf(steps, PlanOp.PivotRoot);
        int after = steps.FindLastIndex(s => s.Op == PlanOp.Mount && s.StringArg(1) == "/" && s.U64Arg(3) == MountOptionParser.RootPropagation("shared"));
        Assert.True(parent >= 0 && parent < bind);
        Assert.True(after > pivot);
    }

    [Fact]
    public void WithoutAMountNamespaceTheRootfsIsEnteredByChrootAndTheHostIsLeftAlone()
    {
        var steps = ContainerPlanner.BuildCreate(Options(s =>
        {
            s.Linux!.Namespaces!.RemoveAll(n => n.Type == "mount");
            s.Linux.MaskedPaths = new();
            s.Linux.ReadonlyPaths = new();
        }));
        Assert.True(IndexOf(steps, PlanOp.Chroot) >= 0);
        Assert.Equal(-1, IndexOf(steps, PlanOp.PivotRoot));
        Assert.Equal(-1, IndexOf(steps, PlanOp.ChrootMove));
        Assert.Equal(-1, IndexOf(steps, PlanOp.ParentPrivate));
        // No propagation change of the caller's "/".
        Assert.Equal(-1, IndexOf(steps, PlanOp.Mount, s => s.StringArg(1) == "/" && (s.U64Arg(3) & MountFlags.PropagationMask) != 0));
    }

    [Fact]
    public void InANewUserNamespaceBindSourcesAreCopiedBeforeTheClone()
    {
        var steps = ContainerPlanner.BuildCreate(Options(s =>
        {
            s.Linux!.Namespaces!.Add(new LinuxNamespace { Type = "user" });
            s.Linux.UidMappings = new() { new IdMapping { ContainerId = 0, HostId = 100000, Size = 65536 } };
            s.Linux.GidMappings = new() { new IdMapping { ContainerId = 0, HostId = 100000, Size = 65536 } };
            s.Mounts!.Add(new Mount { Destination = "/data", Type = "bind", Source = "/srv/data", Options = new() { "rbind" } });
        }));
        int tree = IndexOf(steps, PlanOp.OpenTree, s => s.StringArg(0) == "/srv/data");
        Assert.True(tree >= 0 && tree < IndexOf(steps, PlanOp.Clone));
        Assert.Equal(1UL, steps[tree].U64Arg(1));
        var mount = steps[IndexOf(steps, PlanOp.Mount, s => s.StringArg(1) == "/data")];
        Assert.NotEqual(0UL, mount.U64Arg(5) & (ulong)MountHow.SourceTree);
    }

    [Fact]
    public void AFifoDeviceIsMadeWithMknod()
    {
        var fifo = new LinuxDevice { Path = "/dev/f", Type = "p", FileMode = 0x1a4 };
        var steps = ContainerPlanner.BuildCreate(Options(s => s.Linux!.Devices = new() { fifo }));
        var mknod = steps[IndexOf(steps, PlanOp.Mknod, s => s.StringArg(0) == "/dev/f")];
        Assert.Equal(0x1000UL | 0x1a4, mknod.U64Arg(1));
    }
}
