using Dune.Oci.Cgroups;
using Dune.Oci.Cgroups.Systemd;
using Dune.Oci.Spec;
using Xunit;

namespace Dune.Oci.Tests.Cgroups.Systemd;

public sealed class SystemdPropertyTests
{
    private const string ProcDevices = "Character devices:\n  1 mem\n  4 tty\n136 pts\n\nBlock devices:\n  8 sd\n";

    private static List<string> Build(LinuxResources r, bool v2, int version = 252, List<string>? warnings = null) =>
        SystemdResourceProperties.Build(r, v2, version, () => ProcDevices, w => warnings?.Add(w)).Select(p => p.ToString()).ToList();

    [Fact]
    public void UnitPropertiesOfAScopeAreRuncs()
    {
        var p = SystemdUnitProperties.ForStart(SystemdUnit.Parse("system.slice:dune:c1", "c1"), "c1", 4242, v2: true)
            .Select(x => x.ToString()).ToList();
        Assert.Equal(new[]
        {
            "Description=dune container c1", "Slice=system.slice", "Delegate=yes", "PIDs=4242",
            "MemoryAccounting=yes", "CPUAccounting=yes", "IOAccounting=yes", "TasksAccounting=yes", "DefaultDependencies=no",
        }, p);
    }

    [Fact]
    public void ASliceGetsWantsOfItsParentNoDelegateAndNoPids()
    {
        var p = SystemdUnitProperties.ForStart(SystemdUnit.Parse("kubepods.slice:x:kubepods-pod1.slice", "c1"), "c1", 4242, v2: false)
            .Select(x => x.ToString()).ToList();
        Assert.Contains("Wants=kubepods.slice", p);
        Assert.Contains("BlockIOAccounting=yes", p);
        Assert.DoesNotContain(p, x => x.StartsWith("Slice=") || x.StartsWith("Delegate=") || x.StartsWith("PIDs="));
    }

    [Fact]
    public void V1UsesMemoryLimitCpuSharesBlockIOWeight()
    {
        var r = new LinuxResources
        {
            Memory = new LinuxMemory { Limit = 67108864 },
            Cpu = new LinuxCpu { Shares = 512 },
            BlockIo = new LinuxBlockIo { Weight = 300 },
            Pids = new LinuxPids { Limit = 50 },
        };
        Assert.Equal(new[] { "MemoryLimit=67108864", "CPUShares=512", "BlockIOWeight=300", "TasksMax=50" }, Build(r, v2: false));
    }

    [Fact]
    public void V2UsesMemoryMaxLowSwapMaxAndConvertsSharesAndBlkioWeight()
    {
        var r = new LinuxResources
        {
            Memory = new LinuxMemory { Limit = 100_000_000, Reservation = 50_000_000, Swap = 150_000_000 },
            Cpu = new LinuxCpu { Shares = 1024 },
            BlockIo = new LinuxBlockIo { Weight = 500 },
        };
        // shares 1024 -> weight 1 + (1022 * 9999) / 262142 = 39, blkio 500 -> io 1 + (490 * 9999) / 990 = 4950; swap is memory+swap in OCI, swap alone in v2.
        Assert.Equal(new[] { "MemoryMax=100000000", "MemoryLow=50000000", "MemorySwapMax=50000000", "CPUWeight=39", "IOWeight=4950" },
            Build(r, v2: true));
    }

    [Theory]
    [InlineData(-1L, "infinity")]
    [InlineData(1024L, "1024")]
    public void NegativeLimitsAreInfinity(long value, string expected)
    {
        var r = new LinuxResources { Memory = new LinuxMemory { Limit = value }, Pids = new LinuxPids { Limit = value } };
        Assert.Equal(new[] { $"MemoryLimit={expected}", $"TasksMax={expected}" }, Build(r, v2: false));
    }

    [Theory]
    [InlineData(25000L, 100000UL, "250000")]   // 25% exactly
    [InlineData(33333L, 100000UL, "340000")]   // 33.333% rounds up to the next whole percent
    [InlineData(50000L, 0UL, "500000")]        // no period: the kernel's 100 ms
    [InlineData(-1L, 100000UL, "infinity")]
    public void CpuQuotaBecomesQuotaPerSecondInWholePercent(long quota, ulong period, string perSec)
    {
        var r = new LinuxResources { Cpu = new LinuxCpu { Quota = quota, Period = period == 0 ? null : period } };
        var p = Build(r, v2: false);
        Assert.Contains($"CPUQuotaPerSecUSec={perSec}", p);
        if (period != 0) Assert.Contains($"CPUQuotaPeriodUSec={period}", p);
        else Assert.DoesNotContain(p, x => x.StartsWith("CPUQuotaPeriodUSec="));
    }

    [Fact]
    public void OldSystemdGetsNoPeriodAndNoCpuSets()
    {
        var r = new LinuxResources { Cpu = new LinuxCpu { Period = 50000, Cpus = "0-1" } };
        Assert.Equal(new[] { "CPUQuotaPerSecUSec=infinity" }, Build(r, v2: true, version: 241));
        Assert.Equal(new[] { "CPUQuotaPeriodUSec=50000", "CPUQuotaPerSecUSec=infinity", "AllowedCPUs=03" }, Build(r, v2: true, version: 244));
    }

    [Theory]
    [InlineData("0", "01")]
    [InlineData("0-3", "0f")]
    [InlineData("0-3,8", "0f01")]
    [InlineData("1,3,9-10", "0a06")]
    public void CpuListsBecomeLittleEndianMasks(string list, string hex) =>
        Assert.Equal(hex, Convert.ToHexString(SystemdResourceProperties.RangeToBits(list, "cpus")).ToLowerInvariant());

    [Theory]
    [InlineData("3-1")]
    [InlineData("a")]
    [InlineData("1-2-3")]
    [InlineData("")]
    public void BadCpuListsAreRefused(string list) =>
        Assert.Throws<CgroupException>(() => SystemdResourceProperties.RangeToBits(list, "cpus"));

    [Fact]
    public void UnifiedKeysSystemdKnowsBecomeProperties()
    {
        var r = new LinuxResources
        {
            Unified = new() { ["memory.high"] = "max", ["pids.max"] = "20", ["cpu.max"] = "50000 100000", ["io.bfq.weight"] = "10" },
        };
        var p = Build(r, v2: true);
        Assert.Contains("MemoryHigh=infinity", p);
        Assert.Contains("TasksMax=20", p);
        Assert.Contains("CPUQuotaPerSecUSec=500000", p);
        Assert.Contains("CPUQuotaPeriodUSec=100000", p);
        Assert.Equal(4, p.Count); // io.bfq.weight only reaches the file
    }

    [Fact]
    public void DockersDefaultDeviceRulesBecomeAStrictAllowList()
    {
        var rules = new List<LinuxDeviceCgroup>
        {
            new() { Allow = false, Access = "rwm" },
            new() { Allow = true, Type = "c", Access = "m" },
            new() { Allow = true, Type = "b", Access = "m" },
            new() { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "rwm" },
            new() { Allow = true, Type = "c", Major = 136, Access = "rwm" },
            new() { Allow = true, Type = "b", Major = 8, Minor = 0, Access = "r" },
        };
        Assert.Equal(new[]
        {
            "DevicePolicy=strict", "DeviceAllow=",
            "DeviceAllow=block-* m, char-* m, /dev/char/1:3 rwm, /dev/block/8:0 r, char-pts rwm", // by major, minor, type
        }, Build(new LinuxResources { Devices = rules }, v2: false));
    }

    [Fact]
    public void AllowAllIsPolicyAutoWithNoEntries() =>
        Assert.Equal(new[] { "DevicePolicy=auto", "DeviceAllow=" },
            Build(new LinuxResources { Devices = new() { new() { Allow = false, Access = "rwm" }, new() { Allow = true, Access = "rwm" } } }, v2: true));

    [Fact]
    public void LaterRulesTakeAccessAwayAndAMajorWildcardWithMinorIsLeftToCgroupfs()
    {
        var warnings = new List<string>();
        var rules = new List<LinuxDeviceCgroup>
        {
            new() { Allow = false, Access = "rwm" },
            new() { Allow = true, Type = "c", Major = 1, Minor = 5, Access = "rwm" },
            new() { Allow = false, Type = "c", Major = 1, Minor = 5, Access = "w" },
            new() { Allow = true, Type = "c", Minor = 7, Access = "r" },
            new() { Allow = true, Type = "c", Major = 99, Access = "r" }, // no group 99 in /proc/devices
        };
        Assert.Equal(new[] { "DevicePolicy=strict", "DeviceAllow=", "DeviceAllow=/dev/char/1:5 rm" },
            Build(new LinuxResources { Devices = rules }, v2: false, warnings: warnings));
        Assert.Equal(2, warnings.Count);
    }

    [Fact]
    public void ADenyListCannotBeExpressedAndDeniesAllWithAWarning()
    {
        var warnings = new List<string>();
        var rules = new List<LinuxDeviceCgroup>
        {
            new() { Allow = true, Access = "rwm" },
            new() { Allow = false, Type = "c", Major = 1, Minor = 3, Access = "rwm" },
        };
        Assert.Equal(new[] { "DevicePolicy=strict", "DeviceAllow=" }, Build(new LinuxResources { Devices = rules }, v2: true, warnings: warnings));
        Assert.Single(warnings);
    }

    [Fact]
    public void BadDeviceRulesAreRefused() =>
        Assert.Throws<CgroupException>(() => Build(new LinuxResources { Devices = new() { new() { Allow = true, Type = "p", Access = "rwm" } } }, v2: true));

    [Theory]
    [InlineData("252.38-1~deb12u1", 252)]
    [InlineData("\"v245.4-1.fc32\"", 245)]
    [InlineData("245", 245)]
    [InlineData("unknown", -1)]
    public void SystemdVersionIsItsLeadingNumber(string text, int version) =>
        Assert.Equal(version, SystemdDbusClient.ParseVersion(text));
}
