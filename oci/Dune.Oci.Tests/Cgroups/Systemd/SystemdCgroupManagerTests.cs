using Dune.Oci.Cgroups;
using Dune.Oci.Cgroups.Systemd;
using Dune.Oci.Spec;
using Xunit;

namespace Dune.Oci.Tests.Cgroups.Systemd;

public sealed class SystemdCgroupManagerTests
{
    /// <summary>Records the calls; StartTransientUnit makes the unit's directories in the given hierarchies as systemd would.</summary>
    private sealed class FakeSystemd : ISystemdClient
    {
        private readonly Action<string> _onStart;
        public FakeSystemd(Action<string> onStart) => _onStart = onStart;
        public List<string> Calls { get; } = new();
        public int Version => 252;
        public string? FailStart { get; set; }

        public void StartTransientUnit(string name, IReadOnlyList<SystemdProperty> properties)
        {
            Calls.Add($"start {name}: {string.Join("; ", properties)}");
            if (FailStart != null) throw new CgroupException(FailStart);
            _onStart(name);
        }

        public void SetUnitProperties(string name, IReadOnlyList<SystemdProperty> properties) =>
            Calls.Add($"set {name}: {string.Join("; ", properties)}");

        public void StopUnit(string name) => Calls.Add($"stop {name}");
        public void ResetFailedUnit(string name) => Calls.Add($"reset {name}");
        public void Dispose() { }
    }

    private static (FakeCgroupFs Fs, FakeSystemd Systemd, ICgroupManager Manager) OpenV1(string cgroupsPath = "")
    {
        var fs = FakeCgroupFs.V1();
        // systemd 252 on v1 has system.slice in name=systemd, the accounting controllers and the
        // cgroup2 mount from boot on, and realises a delegated scope there.
        var managed = new[] { "systemd", "memory", "cpu", "cpuacct", "blkio", "pids", "devices", "unified" };
        foreach (string h in managed) fs.MakeDir(fs.P($"/sys/fs/cgroup/{h}/system.slice"));
        var systemd = new FakeSystemd(name =>
        {
            foreach (string h in managed)
                if (!Directory.Exists(fs.P($"/sys/fs/cgroup/{h}/system.slice/{name}"))) fs.MakeDir(fs.P($"/sys/fs/cgroup/{h}/system.slice/{name}"));
        });
        var m = CgroupManagerFactory.Open(cgroupsPath, "c1", true,
            new CgroupEnvironment(fs.MountInfo, fs.ProcSelfCgroup, fs.Root, true, fs)
            {
                ConnectSystemd = () => systemd,
                ProcDevices = () => "Character devices:\n136 pts\n",
                RemovePatience = TimeSpan.FromMilliseconds(200),
            });
        return (fs, systemd, m);
    }

    [Fact]
    public void CreateMakesTheUnitsDirectoriesAndFilesThenApplyStartsTheScopeAroundTheInit()
    {
        var (fs, systemd, m) = OpenV1();
        using var _ = fs;
        var r = new LinuxResources { Memory = new LinuxMemory { Limit = 64 << 20 }, Pids = new LinuxPids { Limit = 50 } };
        m.Create(r);
        Assert.Empty(systemd.Calls);
        // The init joins these before the unit exists: they are where systemd puts the unit.
        Assert.Equal("67108864", fs.Read("/sys/fs/cgroup/memory/system.slice/dune-c1.scope/memory.limit_in_bytes"));
        m.Apply(4242);
        Assert.Equal(
            "start dune-c1.scope: Description=dune container c1; Slice=system.slice; Delegate=yes; PIDs=4242; MemoryAccounting=yes; " +
            "CPUAccounting=yes; BlockIOAccounting=yes; TasksAccounting=yes; DefaultDependencies=no; MemoryLimit=67108864; TasksMax=50",
            Assert.Single(systemd.Calls));
        // Files are written in the unit's directories, also those systemd does not make (cpuset, freezer).
        Assert.Equal("50", fs.Read("/sys/fs/cgroup/pids/system.slice/dune-c1.scope/pids.max"));
        Assert.True(Directory.Exists(fs.P("/sys/fs/cgroup/freezer/system.slice/dune-c1.scope")));
        Assert.Equal("system.slice:dune:c1", m.Path);
        Assert.Contains(fs.P("/sys/fs/cgroup/cpuset/system.slice/dune-c1.scope/tasks"), m.SelfJoinFiles);
    }

    [Fact]
    public void UpdateSetsTheUnitsPropertiesThenTheFiles()
    {
        var (fs, systemd, m) = OpenV1();
        using var _ = fs;
        m.Create(null);
        m.Apply(4242);
        m.Update(new LinuxResources { Pids = new LinuxPids { Limit = 7 }, Cpu = new LinuxCpu { Shares = 100 } });
        Assert.Equal("set dune-c1.scope: CPUShares=100; TasksMax=7", systemd.Calls[^1]);
        Assert.Equal("7", fs.Read("/sys/fs/cgroup/pids/system.slice/dune-c1.scope/pids.max"));
        Assert.Equal("100", fs.Read("/sys/fs/cgroup/cpu/system.slice/dune-c1.scope/cpu.shares"));
    }

    [Fact]
    public void DestroyStopsTheUnitAndRemovesTheDirectoriesDuneMade()
    {
        var (fs, systemd, m) = OpenV1("system.slice:p:n");
        using var _ = fs;
        m.Create(null);
        m.Apply(1);
        m.Destroy();
        Assert.Equal("stop p-n.scope", systemd.Calls[^1]);
        foreach (string dir in m.Directories) Assert.False(Directory.Exists(dir), dir);
        Assert.True(Directory.Exists(fs.P("/sys/fs/cgroup/memory/system.slice")), "the slice is systemd's");
        Assert.False(Directory.Exists(fs.P("/sys/fs/cgroup/freezer/system.slice")), "dune made this one");
    }

    [Fact]
    public void ACreateThatFailsBeforeTheInitExistsDoesNotAskSystemdToStopAnything()
    {
        var (fs, systemd, m) = OpenV1();
        using var _ = fs;
        m.Create(null);
        m.Destroy();
        Assert.Empty(systemd.Calls);
        foreach (string dir in m.Directories) Assert.False(Directory.Exists(dir), dir);
    }

    [Fact]
    public void InvalidResourcesAreRefusedAtCreateBeforeSystemdIsAsked()
    {
        var (fs, systemd, m) = OpenV1();
        using var _ = fs;
        Assert.Throws<CgroupException>(() => m.Create(new LinuxResources { Cpu = new LinuxCpu { Cpus = "3-1" } }));
        Assert.Empty(systemd.Calls);
    }

    [Fact]
    public void ARefusedStartIsReportedAndDestroyLeavesNoDirectory()
    {
        var (fs, systemd, m) = OpenV1();
        using var _ = fs;
        systemd.FailStart = "systemd refused to start unit dune-c1.scope: boom";
        m.Create(null);
        var e = Assert.Throws<CgroupException>(() => m.Apply(1));
        Assert.Contains("boom", e.Message);
        m.Destroy(); // what a failed create does
        foreach (string dir in m.Directories) Assert.False(Directory.Exists(dir), dir);
    }
}
