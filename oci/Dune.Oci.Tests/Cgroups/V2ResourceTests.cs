using Dune.Oci.Cgroups;
using Dune.Oci.Spec;
using Xunit;

namespace Dune.Oci.Tests.Cgroups;

public sealed class V2ResourceTests
{
    private const string C = "/sys/fs/cgroup/c/";

    [Fact]
    public void CreateEnablesTheParentsControllersForTheChild()
    {
        using var fs = FakeCgroupFs.V2(new[] { "cpu", "memory", "pids" });
        fs.Open("/a/c").Create(null);
        Assert.Equal("+cpu +memory +pids", fs.Read("/sys/fs/cgroup/cgroup.subtree_control"));
        Assert.Equal("+cpu +memory +pids", fs.Read("/sys/fs/cgroup/a/cgroup.subtree_control"));
        Assert.Equal("cpu memory pids", fs.Read("/sys/fs/cgroup/a/c/cgroup.controllers"));
        Assert.Equal("", fs.Read("/sys/fs/cgroup/a/c/cgroup.subtree_control"));
    }

    [Fact]
    public void MemorySettingsLandInTheirV2Files()
    {
        using var fs = FakeCgroupFs.V2();
        fs.Open("/c").Create(new LinuxResources
        {
            // kernel, kernelTCP, swappiness and disableOOMKiller have no v2 file and are ignored.
            Memory = new LinuxMemory { Limit = 100 << 20, Reservation = 50 << 20, Swap = 300 << 20, Kernel = 1, Swappiness = 5, DisableOomKiller = true },
        });
        Assert.Equal("104857600", fs.Read(C + "memory.max"));
        Assert.Equal("52428800", fs.Read(C + "memory.low"));
        Assert.Equal("209715200", fs.Read(C + "memory.swap.max"));
    }

    [Theory]
    [InlineData(-1L, null, "max", "max")]
    [InlineData(1000L, -1L, "1000", "max")]
    [InlineData(1000L, 1000L, "1000", "0")]
    [InlineData(1000L, null, "1000", "max")] // swap untouched: still the default
    public void MemoryMaxAndSwapMax(long limit, long? swap, string max, string swapMax)
    {
        using var fs = FakeCgroupFs.V2();
        fs.Open("/c").Create(new LinuxResources { Memory = new LinuxMemory { Limit = limit, Swap = swap } });
        Assert.Equal(max, fs.Read(C + "memory.max"));
        Assert.Equal(swapMax, fs.Read(C + "memory.swap.max"));
    }

    [Fact]
    public void SwapBelowLimitIsRefused()
    {
        using var fs = FakeCgroupFs.V2();
        var e = Assert.Throws<CgroupException>(() =>
            fs.Open("/c").Create(new LinuxResources { Memory = new LinuxMemory { Limit = 2000, Swap = 1000 } }));
        Assert.Contains("below memory.limit", e.Message);
        Assert.False(Directory.Exists(fs.P("/sys/fs/cgroup/c")), "a failed create leaves no directory");
    }

    [Fact]
    public void CpuSettingsLandInTheirV2Files()
    {
        using var fs = FakeCgroupFs.V2();
        fs.Open("/c").Create(new LinuxResources
        {
            Cpu = new LinuxCpu { Shares = 1024, Quota = 50000, Period = 100000, Burst = 2000, Idle = 1, Cpus = "0-1", Mems = "0" },
        });
        Assert.Equal("39", fs.Read(C + "cpu.weight"));
        Assert.Equal("50000 100000", fs.Read(C + "cpu.max"));
        Assert.Equal("2000", fs.Read(C + "cpu.max.burst"));
        Assert.Equal("1", fs.Read(C + "cpu.idle"));
        Assert.Equal("0-1", fs.Read(C + "cpuset.cpus"));
        Assert.Equal("0", fs.Read(C + "cpuset.mems"));
    }

    [Theory]
    [InlineData(-1L, 100000UL, "max 100000")]
    [InlineData(20000L, null, "20000")]
    [InlineData(null, 250000UL, "max 250000")]
    public void CpuMax(long? quota, ulong? period, string expected)
    {
        using var fs = FakeCgroupFs.V2();
        fs.Open("/c").Create(new LinuxResources { Cpu = new LinuxCpu { Quota = quota, Period = period } });
        Assert.Equal(expected, fs.Read(C + "cpu.max"));
    }

    [Fact]
    public void CheckBeforeUpdateRefusesLimitsBelowTheUsage()
    {
        // runc's "update memory vs CheckBeforeUpdate".
        using var fs = FakeCgroupFs.V2();
        var m = fs.Open("/c");
        m.Create(new LinuxResources { Memory = new LinuxMemory { Limit = 33554432 } });
        File.WriteAllText(fs.P(C + "memory.current"), "1048576\n");
        File.WriteAllText(fs.P(C + "memory.swap.current"), "4096\n");
        var e = Assert.Throws<CgroupException>(() => m.Update(new LinuxResources { Memory = new LinuxMemory { Limit = 1024, CheckBeforeUpdate = true } }));
        Assert.Equal("rejecting memory limit 1024 below current usage 1048576", e.Message);
        e = Assert.Throws<CgroupException>(() => m.Update(new LinuxResources { Memory = new LinuxMemory { Limit = 1024, Swap = 2048, CheckBeforeUpdate = true } }));
        Assert.Equal("rejecting memory+swap limit 2048 below current usage 1052672", e.Message);
        Assert.Equal("33554432", fs.Read(C + "memory.max"));
        // Above the usage, or without the check, the limit is written.
        m.Update(new LinuxResources { Memory = new LinuxMemory { Limit = 16777216, CheckBeforeUpdate = true } });
        Assert.Equal("16777216", fs.Read(C + "memory.max"));
        m.Update(new LinuxResources { Memory = new LinuxMemory { Limit = 1024 } });
        Assert.Equal("1024", fs.Read(C + "memory.max"));
    }

    [Fact]
    public void PeriodAloneKeepsTheQuotaInForce()
    {
        // runc's "update cgroup cpu limits": --cpu-period alone must not lift the quota.
        using var fs = FakeCgroupFs.V2();
        var m = fs.Open("/c");
        m.Create(new LinuxResources { Cpu = new LinuxCpu { Quota = 500000, Period = 1000000 } });
        m.Update(new LinuxResources { Cpu = new LinuxCpu { Period = 900000 } });
        Assert.Equal("500000 900000", fs.Read(C + "cpu.max"));
        m.Update(new LinuxResources { Cpu = new LinuxCpu { Quota = -1, Period = 100000 } });
        Assert.Equal("max 100000", fs.Read(C + "cpu.max"));
    }

    [Fact]
    public void RealtimeIsRefusedOnV2()
    {
        using var fs = FakeCgroupFs.V2();
        var e = Assert.Throws<CgroupException>(() =>
            fs.Open("/c").Create(new LinuxResources { Cpu = new LinuxCpu { RealtimeRuntime = 100, RealtimePeriod = 1000 } }));
        Assert.Contains("not supported on cgroup v2", e.Message);
    }

    [Fact]
    public void PidsAndHugetlb()
    {
        using var fs = FakeCgroupFs.V2();
        fs.Open("/c").Create(new LinuxResources
        {
            Pids = new LinuxPids { Limit = 77 },
            HugepageLimits = new() { new LinuxHugepageLimit { PageSize = "2MB", Limit = 2097152 } },
        });
        Assert.Equal("77", fs.Read(C + "pids.max"));
        Assert.Equal("2097152", fs.Read(C + "hugetlb.2MB.max"));
    }

    [Fact]
    public void IoWeightIsScaledAndThrottlesGoToIoMax()
    {
        using var fs = FakeCgroupFs.V2();
        var m = fs.Open("/c");
        m.Create(new LinuxResources { BlockIo = new LinuxBlockIo { Weight = 500 } });
        Assert.Equal("4950", fs.Read(C + "io.weight"));
        m.Update(new LinuxResources { BlockIo = new LinuxBlockIo { WeightDevice = new() { new LinuxWeightDevice { Major = 8, Minor = 0, Weight = 10 } } } });
        Assert.Equal("8:0 1", fs.Read(C + "io.weight"));
        m.Update(new LinuxResources { BlockIo = new LinuxBlockIo { ThrottleReadBpsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 1048576 } } } });
        Assert.Equal("8:0 rbps=1048576", fs.Read(C + "io.max"));
        m.Update(new LinuxResources { BlockIo = new LinuxBlockIo { ThrottleWriteIopsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 0 } } } });
        Assert.Equal("8:0 wiops=max", fs.Read(C + "io.max"));
    }

    [Fact]
    public void ControllerNotEnabledIsNamed()
    {
        using var fs = FakeCgroupFs.V2(new[] { "memory" });
        var e = Assert.Throws<CgroupException>(() => fs.Open("/c").Create(new LinuxResources { Pids = new LinuxPids { Limit = 3 } }));
        Assert.StartsWith("linux.resources.pids needs the pids cgroup v2 controller", e.Message);
    }

    [Fact]
    public void AllowAllDeviceRulesAttachNoProgram()
    {
        using var fs = FakeCgroupFs.V2();
        fs.Open("/c").Create(new LinuxResources
        {
            Devices = new()
            {
                new LinuxDeviceCgroup { Allow = false, Access = "rwm" },
                new LinuxDeviceCgroup { Allow = true, Type = "a", Access = "rwm" },
                new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "rwm" },
            },
        });
        Assert.True(Directory.Exists(fs.P("/sys/fs/cgroup/c")));
        Assert.Empty(fs.Devices.Attached);
    }

    [Fact]
    public void RestrictiveDeviceRulesAttachAProgramToTheLeafAndUpdateReplacesIt()
    {
        using var fs = FakeCgroupFs.V2();
        var m = fs.Open("/c");
        m.Create(new LinuxResources
        {
            Devices = new()
            {
                new LinuxDeviceCgroup { Allow = false, Access = "rwm" },
                new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "rwm" },
            },
        });
        var program = Assert.Single(fs.Devices.Attached);
        Assert.Equal(fs.P("/sys/fs/cgroup/c"), program.Key);
        Assert.Equal(1, EbpfInterpreter.Run(program.Value.Instructions, (2u << 16) | 2, 1, 3));
        Assert.Equal(0, EbpfInterpreter.Run(program.Value.Instructions, (2u << 16) | 2, 1, 5));

        m.Update(new LinuxResources
        {
            Devices = new()
            {
                new LinuxDeviceCgroup { Allow = false, Access = "rwm" },
                new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 5, Access = "r" },
            },
        });
        program = Assert.Single(fs.Devices.Attached);
        Assert.Equal(0, EbpfInterpreter.Run(program.Value.Instructions, (2u << 16) | 2, 1, 3));
        Assert.Equal(1, EbpfInterpreter.Run(program.Value.Instructions, (2u << 16) | 2, 1, 5));

        m.Update(new LinuxResources { Pids = null });
        Assert.Equal(2, fs.Devices.Installs); // an update without devices leaves the program alone
        m.Destroy();
        Assert.Empty(fs.Devices.Attached);
    }

    [Fact]
    public void BadDeviceRulesAreRefusedBeforeAnyWrite()
    {
        using var fs = FakeCgroupFs.V2();
        var e = Assert.Throws<CgroupException>(() => fs.Open("/c").Create(new LinuxResources
        {
            Pids = new LinuxPids { Limit = 5 },
            Devices = new() { new LinuxDeviceCgroup { Allow = true, Type = "p", Access = "rwm" } },
        }));
        Assert.Contains("invalid device type \"p\"", e.Message);
        Assert.False(Directory.Exists(fs.P("/sys/fs/cgroup/c")));
        Assert.Equal(0, fs.Devices.Installs);
    }

    [Fact]
    public void ZeroSharesAndBlkioWeightAsDockerSendsThemNeedNoController()
    {
        // docker's config.json for `docker run busybox` (e2e/lib/docker-devices.json comes from the same capture).
        using var fs = FakeCgroupFs.V2(new[] { "memory", "pids" });
        fs.Open("/c").Create(new LinuxResources
        {
            Memory = new LinuxMemory { DisableOomKiller = false },
            Cpu = new LinuxCpu { Shares = 0 },
            BlockIo = new LinuxBlockIo { Weight = 0 },
        });
        Assert.True(Directory.Exists(fs.P("/sys/fs/cgroup/c")));
        Assert.Empty(V2ResourceWriter.NeededControllers(new LinuxResources { Cpu = new LinuxCpu { Shares = 0, Quota = 0, Period = 0 }, BlockIo = new LinuxBlockIo { Weight = 0 } }));
    }

    [Fact]
    public void UnifiedKeysAreWrittenLast()
    {
        using var fs = FakeCgroupFs.V2();
        fs.Open("/c").Create(new LinuxResources
        {
            Memory = new LinuxMemory { Limit = 4096 },
            Unified = new() { ["memory.high"] = "2048", ["memory.max"] = "8192" },
        });
        Assert.Equal("2048", fs.Read(C + "memory.high"));
        Assert.Equal("8192", fs.Read(C + "memory.max"));
    }

    [Theory]
    [InlineData("memory.nonexistent", "does not exist")]
    [InlineData("../memory.max", "not a cgroup file name")]
    [InlineData("rdma.max", "rdma cgroup v2 controller")]
    public void BadUnifiedKeysAreRefused(string key, string message)
    {
        using var fs = FakeCgroupFs.V2();
        var e = Assert.Throws<CgroupException>(() => fs.Open("/c").Create(new LinuxResources { Unified = new() { [key] = "1" } }));
        Assert.Contains(message, e.Message);
    }
}
