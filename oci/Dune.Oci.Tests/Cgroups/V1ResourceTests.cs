using Dune.Oci.Cgroups;
using Dune.Oci.Spec;
using Xunit;

namespace Dune.Oci.Tests.Cgroups;

public sealed class V1ResourceTests
{
    private const string Mem = "/sys/fs/cgroup/memory/c";
    private const string Cpu = "/sys/fs/cgroup/cpu/c";

    [Fact]
    public void MemorySettingsLandInTheirV1Files()
    {
        using var fs = FakeCgroupFs.V1();
        fs.Open("/c").Create(new LinuxResources
        {
            Memory = new LinuxMemory
            {
                Limit = 100 << 20, Reservation = 50 << 20, Swap = 200 << 20, Kernel = 30 << 20, KernelTcp = 10 << 20,
                Swappiness = 10, DisableOomKiller = true,
            },
        });
        Assert.Equal("104857600", fs.Read(Mem + "/memory.limit_in_bytes"));
        Assert.Equal("52428800", fs.Read(Mem + "/memory.soft_limit_in_bytes"));
        Assert.Equal("209715200", fs.Read(Mem + "/memory.memsw.limit_in_bytes"));
        Assert.Equal("31457280", fs.Read(Mem + "/memory.kmem.limit_in_bytes"));
        Assert.Equal("10485760", fs.Read(Mem + "/memory.kmem.tcp.limit_in_bytes"));
        Assert.Equal("10", fs.Read(Mem + "/memory.swappiness"));
        Assert.Equal("1", fs.Read(Mem + "/memory.oom_control"));
    }

    [Fact]
    public void UnlimitedMemoryWithoutSwapLiftsMemswToo()
    {
        using var fs = FakeCgroupFs.V1();
        var m = fs.Open("/c");
        m.Create(new LinuxResources { Memory = new LinuxMemory { Limit = 100, Swap = 200 } });
        m.Update(new LinuxResources { Memory = new LinuxMemory { Limit = -1 } });
        Assert.Equal("-1", fs.Read(Mem + "/memory.limit_in_bytes"));
        Assert.Equal("-1", fs.Read(Mem + "/memory.memsw.limit_in_bytes"));
    }

    [Fact]
    public void SwapWithoutMemswFileIsAClearErrorButUnlimitedSwapIsFine()
    {
        using var fs = FakeCgroupFs.V1(fileFilter: f => !f.StartsWith("memory.memsw.", StringComparison.Ordinal));
        var e = Assert.Throws<CgroupException>(() =>
            fs.Open("/c").Create(new LinuxResources { Memory = new LinuxMemory { Limit = 100, Swap = 200 } }));
        Assert.Contains("memory.memsw.limit_in_bytes does not exist", e.Message);
        Assert.False(Directory.Exists(fs.P(Mem)), "a failed create leaves no directory");

        fs.Open("/d").Create(new LinuxResources { Memory = new LinuxMemory { Limit = 100, Swap = -1 } });
        Assert.Equal("100", fs.Read("/sys/fs/cgroup/memory/d/memory.limit_in_bytes"));
    }

    [Fact]
    public void KernelMemoryIsSkippedWhereTheKernelDroppedTheFile()
    {
        using var fs = FakeCgroupFs.V1(fileFilter: f => !f.StartsWith("memory.kmem.", StringComparison.Ordinal));
        fs.Open("/c").Create(new LinuxResources { Memory = new LinuxMemory { Limit = 4096, Kernel = 1 << 20, KernelTcp = 1 << 20 } });
        Assert.Equal("4096", fs.Read(Mem + "/memory.limit_in_bytes"));
        Assert.False(File.Exists(fs.P(Mem + "/memory.kmem.limit_in_bytes")));
    }

    [Fact]
    public void CpuSettingsLandInTheirV1Files()
    {
        using var fs = FakeCgroupFs.V1();
        fs.Open("/c").Create(new LinuxResources
        {
            Cpu = new LinuxCpu
            {
                Shares = 512, Quota = 50000, Period = 200000, Burst = 1000, RealtimeRuntime = 30000,
                RealtimePeriod = 500000, Idle = 1, Cpus = "1", Mems = "0",
            },
        });
        Assert.Equal("512", fs.Read(Cpu + "/cpu.shares"));
        Assert.Equal("50000", fs.Read(Cpu + "/cpu.cfs_quota_us"));
        Assert.Equal("200000", fs.Read(Cpu + "/cpu.cfs_period_us"));
        Assert.Equal("1000", fs.Read(Cpu + "/cpu.cfs_burst_us"));
        Assert.Equal("30000", fs.Read(Cpu + "/cpu.rt_runtime_us"));
        Assert.Equal("500000", fs.Read(Cpu + "/cpu.rt_period_us"));
        Assert.Equal("1", fs.Read(Cpu + "/cpu.idle"));
        Assert.Equal("1", fs.Read("/sys/fs/cgroup/cpuset/c/cpuset.cpus"));
        Assert.Equal("0", fs.Read("/sys/fs/cgroup/cpuset/c/cpuset.mems"));
    }

    [Fact]
    public void CpusetIsCopiedFromTheParentIntoEveryNewLevel()
    {
        using var fs = FakeCgroupFs.V1();
        fs.Open("/a/b/c").Create(null);
        foreach (string d in new[] { "a", "a/b", "a/b/c" })
        {
            Assert.Equal("0-3", fs.Read($"/sys/fs/cgroup/cpuset/{d}/cpuset.cpus"));
            Assert.Equal("0", fs.Read($"/sys/fs/cgroup/cpuset/{d}/cpuset.mems"));
        }
    }

    [Fact]
    public void CpusetFillsAnEmptyPreexistingAncestorButKeepsASetOne()
    {
        using var fs = FakeCgroupFs.V1();
        fs.Open("/a/b").Create(null);
        fs.Write("/sys/fs/cgroup/cpuset/a/cpuset.cpus", "");
        fs.Write("/sys/fs/cgroup/cpuset/a/b/cpuset.cpus", "2");
        fs.Open("/a/b/c").Create(null);
        Assert.Equal("0-3", fs.Read("/sys/fs/cgroup/cpuset/a/cpuset.cpus"));
        Assert.Equal("2", fs.Read("/sys/fs/cgroup/cpuset/a/b/cpuset.cpus"));
        Assert.Equal("2", fs.Read("/sys/fs/cgroup/cpuset/a/b/c/cpuset.cpus"));
    }

    [Theory]
    [InlineData(0, "max")]
    [InlineData(-1, "max")]
    [InlineData(64, "64")]
    public void PidsLimit(long limit, string expected)
    {
        using var fs = FakeCgroupFs.V1();
        fs.Open("/c").Create(new LinuxResources { Pids = new LinuxPids { Limit = limit } });
        Assert.Equal(expected, fs.Read("/sys/fs/cgroup/pids/c/pids.max"));
    }

    [Fact]
    public void ZeroBlkioWeightIsNotWritten()
    {
        // docker sends "blockIO": {"weight": 0} for "not set"; the kernel refuses 0.
        using var fs = FakeCgroupFs.V1();
        fs.Open("/c").Create(new LinuxResources { BlockIo = new LinuxBlockIo { Weight = 0, LeafWeight = 0 } });
        Assert.Equal("500", fs.Read("/sys/fs/cgroup/blkio/c/blkio.weight").Trim());
        Assert.Equal("500", fs.Read("/sys/fs/cgroup/blkio/c/blkio.leaf_weight").Trim());
    }

    [Fact]
    public void BlkioSettingsLandInTheirV1Files()
    {
        using var fs = FakeCgroupFs.V1();
        fs.Open("/c").Create(new LinuxResources
        {
            BlockIo = new LinuxBlockIo
            {
                Weight = 300, LeafWeight = 200,
                WeightDevice = new() { new LinuxWeightDevice { Major = 8, Minor = 0, Weight = 400, LeafWeight = 100 } },
                ThrottleReadBpsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 1048576 } },
                ThrottleWriteBpsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 16, Rate = 2048 } },
                ThrottleReadIopsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 100 } },
                ThrottleWriteIopsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 50 } },
            },
        });
        const string d = "/sys/fs/cgroup/blkio/c/";
        Assert.Equal("300", fs.Read(d + "blkio.weight"));
        Assert.Equal("200", fs.Read(d + "blkio.leaf_weight"));
        Assert.Equal("8:0 400", fs.Read(d + "blkio.weight_device"));
        Assert.Equal("8:0 100", fs.Read(d + "blkio.leaf_weight_device"));
        Assert.Equal("8:0 1048576", fs.Read(d + "blkio.throttle.read_bps_device"));
        Assert.Equal("8:16 2048", fs.Read(d + "blkio.throttle.write_bps_device"));
        Assert.Equal("8:0 100", fs.Read(d + "blkio.throttle.read_iops_device"));
        Assert.Equal("8:0 50", fs.Read(d + "blkio.throttle.write_iops_device"));
    }

    [Fact]
    public void BlkioWeightFallsBackToBfqWhenCfqIsGone()
    {
        using var fs = FakeCgroupFs.V1(fileFilter: f => f != "blkio.weight");
        var m = fs.Open("/c");
        // A BFQ-only kernel shows blkio.bfq.weight in place of blkio.weight.
        Directory.CreateDirectory(fs.P("/sys/fs/cgroup/blkio/c"));
        fs.Write("/sys/fs/cgroup/blkio/c/blkio.bfq.weight", "100");
        fs.Write("/sys/fs/cgroup/blkio/c/cgroup.procs", "");
        m.Create(new LinuxResources { BlockIo = new LinuxBlockIo { Weight = 700 } });
        Assert.Equal("700", fs.Read("/sys/fs/cgroup/blkio/c/blkio.bfq.weight"));
    }

    [Fact]
    public void HugepageLimitsLandInTheirFilesWhereHugetlbIsMounted()
    {
        using var fs = FakeCgroupFs.V1(new[] { "memory", "hugetlb" });
        fs.Open("/c").Create(new LinuxResources { HugepageLimits = new() { new LinuxHugepageLimit { PageSize = "2MB", Limit = 4194304 } } });
        Assert.Equal("4194304", fs.Read("/sys/fs/cgroup/hugetlb/c/hugetlb.2MB.limit_in_bytes"));
    }

    [Fact]
    public void UnsupportedHugepageSizeNamesTheFile()
    {
        using var fs = FakeCgroupFs.V1(new[] { "memory", "hugetlb" });
        var e = Assert.Throws<CgroupException>(() =>
            fs.Open("/c").Create(new LinuxResources { HugepageLimits = new() { new LinuxHugepageLimit { PageSize = "1GB", Limit = 1 } } }));
        Assert.Contains("hugetlb.1GB.limit_in_bytes", e.Message);
    }

    [Fact]
    public void ResourceOfAnUnmountedControllerIsRefusedBeforeAnythingIsCreated()
    {
        using var fs = FakeCgroupFs.V1(); // no hugetlb hierarchy
        var e = Assert.Throws<CgroupException>(() =>
            fs.Open("/c").Create(new LinuxResources
            {
                Memory = new LinuxMemory { Limit = 4096 },
                HugepageLimits = new() { new LinuxHugepageLimit { PageSize = "2MB", Limit = 1 } },
            }));
        Assert.Equal("linux.resources.hugepageLimits needs the hugetlb cgroup controller, which is not mounted", e.Message);
        Assert.False(Directory.Exists(fs.P(Mem)));
    }

    [Fact]
    public void PidsWithoutPidsControllerIsRefused()
    {
        using var fs = FakeCgroupFs.V1(new[] { "memory" }, hybrid: false);
        var e = Assert.Throws<CgroupException>(() => fs.Open("/c").Create(new LinuxResources { Pids = new LinuxPids { Limit = 5 } }));
        Assert.Contains("pids cgroup controller", e.Message);
    }

    [Fact]
    public void DeviceRulesAreWrittenInTheirEffectiveForm()
    {
        using var fs = FakeCgroupFs.V1();
        fs.Open("/c").Create(new LinuxResources
        {
            Devices = new()
            {
                new LinuxDeviceCgroup { Allow = false, Access = "rwm" },
                new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "rwm" },
                new LinuxDeviceCgroup { Allow = false, Type = "b", Major = 8, Minor = -1, Access = "w" },
            },
        });
        // The fake keeps the last write of each file (its devices.list stays "a *:* rwm"): the reset, then the
        // allow; the deny of "b 8:* w" takes nothing away and is not written. The kernel test checks devices.list.
        Assert.Equal("c 1:3 rwm", fs.Read("/sys/fs/cgroup/devices/c/devices.allow"));
        Assert.Equal("a", fs.Read("/sys/fs/cgroup/devices/c/devices.deny"));
    }

    [Fact]
    public void NetworkIsWrittenWhereMountedAndIgnoredElsewhere()
    {
        var net = new LinuxResources
        {
            Network = new LinuxNetwork { ClassId = 0x100001, Priorities = new() { new LinuxInterfacePriority { Name = "eth0", Priority = 5 } } },
        };
        using (var with = FakeCgroupFs.V1(new[] { "net_cls", "net_prio" }, hybrid: false))
        {
            with.Open("/c").Create(net);
            Assert.Equal("1048577", with.Read("/sys/fs/cgroup/net_cls/c/net_cls.classid"));
            Assert.Equal("eth0 5", with.Read("/sys/fs/cgroup/net_prio/c/net_prio.ifpriomap"));
        }
        using var without = FakeCgroupFs.V1();
        without.Open("/c").Create(net); // no error, as runc
        Assert.True(Directory.Exists(without.P(Mem)));
    }

    [Fact]
    public void UnifiedMapOnV1IsRefused()
    {
        using var fs = FakeCgroupFs.V1();
        var e = Assert.Throws<CgroupException>(() =>
            fs.Open("/c").Create(new LinuxResources { Unified = new() { ["memory.high"] = "1000000" } }));
        Assert.StartsWith("invalid configuration: linux.resources.unified requires cgroup v2", e.Message);
        Assert.False(Directory.Exists(fs.P(Mem)));
    }

    [Fact]
    public void UpdateWritesOnlyWhatIsSet()
    {
        using var fs = FakeCgroupFs.V1();
        var m = fs.Open("/c");
        m.Create(new LinuxResources { Memory = new LinuxMemory { Limit = 1 << 20 }, Cpu = new LinuxCpu { Shares = 256 } });
        m.Update(new LinuxResources { Pids = new LinuxPids { Limit = 9 } });
        Assert.Equal("1048576", fs.Read(Mem + "/memory.limit_in_bytes"));
        Assert.Equal("256", fs.Read(Cpu + "/cpu.shares"));
        Assert.Equal("9", fs.Read("/sys/fs/cgroup/pids/c/pids.max"));
    }

    [Fact]
    public void UpdateOfAMissingCgroupFails()
    {
        using var fs = FakeCgroupFs.V1();
        var e = Assert.Throws<CgroupException>(() => fs.Open("/gone").Update(new LinuxResources()));
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void WriteFailureNamesFileAndValue()
    {
        using var fs = FakeCgroupFs.V1(fileFilter: f => f != "cpu.idle");
        var e = Assert.Throws<CgroupException>(() => fs.Open("/c").Create(new LinuxResources { Cpu = new LinuxCpu { Idle = 1 } }));
        Assert.Equal($"cannot write \"1\" to {fs.P(Cpu + "/cpu.idle")}: the file does not exist", e.Message);
    }
}
