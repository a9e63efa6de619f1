using System.Text.Json;
using Dune.Oci.Cgroups;
using Dune.Oci.Spec;
using Xunit;

namespace Dune.Oci.Tests.Cgroups;

// Create/Destroy, pids, stats, OOM and freezer behaviour against the fake cgroupfs.
public sealed class CgroupLifecycleTests
{
    [Fact]
    public void DestroyIsIdempotentAndLeavesAPreexistingParent()
    {
        using var fs = FakeCgroupFs.V1();
        fs.Open("/parent").Create(null); // exists before the container
        var m = fs.Open("/parent/ctr");
        m.Create(new LinuxResources { Memory = new LinuxMemory { Limit = 1 << 20 } });
        Assert.All(m.Directories, d => Assert.True(Directory.Exists(d)));
        m.Destroy();
        Assert.All(m.Directories, d => Assert.False(Directory.Exists(d)));
        Assert.True(Directory.Exists(fs.P("/sys/fs/cgroup/memory/parent")));
        Assert.True(Directory.Exists(fs.P("/sys/fs/cgroup/unified/parent")));
        m.Destroy();
        fs.Open("/parent/ctr").Destroy(); // a fresh manager (as in `dune delete`) on a gone cgroup
    }

    [Fact]
    public void DestroyRemovesAncestorsItCreatedAndSubCgroupsDeepestFirst()
    {
        using var fs = FakeCgroupFs.V2();
        var m = fs.Open("/x/y/ctr");
        m.Create(null);
        fs.Open("/x/y/ctr/inner/deeper").Create(null); // the container made its own sub-cgroups
        m.Destroy();
        Assert.False(Directory.Exists(fs.P("/sys/fs/cgroup/x")));
        Assert.True(Directory.Exists(fs.P("/sys/fs/cgroup")));
    }

    [Fact]
    public void DestroyKeepsACreatedAncestorThatAnotherContainerUses()
    {
        using var fs = FakeCgroupFs.V2();
        var a = fs.Open("/shared/a");
        a.Create(null);
        fs.Open("/shared/b").Create(null);
        a.Destroy();
        Assert.False(Directory.Exists(fs.P("/sys/fs/cgroup/shared/a")));
        Assert.True(Directory.Exists(fs.P("/sys/fs/cgroup/shared/b")));
    }

    [Fact]
    public async Task DestroyWaitsForDyingTasksAndThenReportsTheBusyDirectory()
    {
        using var fs = FakeCgroupFs.V2();
        var m = fs.Open("/c");
        m.Create(null);
        fs.Write("/sys/fs/cgroup/c/cgroup.procs", "4242\n");
        var e = Assert.Throws<CgroupException>(() => m.Destroy());
        Assert.Contains(fs.P("/sys/fs/cgroup/c"), e.Message);

        // The task leaves while Destroy retries.
        var patient = CgroupManagerFactory.Open("/c", "c1", false, fs.Env(removePatience: TimeSpan.FromSeconds(20)));
        var leave = Task.Run(async () => { await Task.Delay(50); fs.Write("/sys/fs/cgroup/c/cgroup.procs", ""); });
        patient.Destroy();
        await leave;
        Assert.False(Directory.Exists(fs.P("/sys/fs/cgroup/c")));
    }

    [Fact]
    public void GetPidsCoversDescendantsAndEveryHierarchy()
    {
        using var fs = FakeCgroupFs.V1();
        var m = fs.Open("/c");
        m.Create(null);
        fs.Open("/c/sub").Create(null);
        fs.Write("/sys/fs/cgroup/memory/c/cgroup.procs", "30\n10\n");
        fs.Write("/sys/fs/cgroup/memory/c/sub/cgroup.procs", "20\n");
        fs.Write("/sys/fs/cgroup/pids/c/cgroup.procs", "10\n40\n");
        Assert.Equal(new[] { 10, 20, 30, 40 }, m.GetPids());
    }

    [Fact]
    public void V1StatsAreReadAndSerialisedInRuncsShape()
    {
        using var fs = FakeCgroupFs.V1(new[] { "cpu,cpuacct", "memory", "pids", "blkio", "hugetlb" }, hybrid: false);
        var m = fs.Open("/c");
        m.Create(new LinuxResources { Pids = new LinuxPids { Limit = 10 } });
        const string cpu = "/sys/fs/cgroup/cpu,cpuacct/c/";
        fs.Write(cpu + "cpuacct.usage", "3000");
        fs.Write(cpu + "cpuacct.usage_percpu", "1000 2000 \n");
        fs.Write(cpu + "cpuacct.usage_user", "1800");
        fs.Write(cpu + "cpuacct.usage_sys", "1200");
        fs.Write(cpu + "cpu.stat", "nr_periods 7\nnr_throttled 3\nthrottled_time 999\n");
        const string mem = "/sys/fs/cgroup/memory/c/";
        fs.Write(mem + "memory.usage_in_bytes", "8192");
        fs.Write(mem + "memory.max_usage_in_bytes", "16384");
        fs.Write(mem + "memory.limit_in_bytes", "65536");
        fs.Write(mem + "memory.failcnt", "2");
        fs.Write(mem + "memory.memsw.usage_in_bytes", "9000");
        fs.Write(mem + "memory.kmem.usage_in_bytes", "100");
        fs.Write(mem + "memory.stat", "cache 4096\nrss 4096\n");
        fs.Write("/sys/fs/cgroup/pids/c/pids.current", "3");
        fs.Write("/sys/fs/cgroup/blkio/c/blkio.throttle.io_service_bytes_recursive", "8:0 Read 512\n8:0 Write 1024\nTotal 1536\n");
        fs.Write("/sys/fs/cgroup/hugetlb/c/hugetlb.2MB.usage_in_bytes", "2097152");
        fs.Write("/sys/fs/cgroup/hugetlb/c/hugetlb.2MB.failcnt", "1");

        var s = m.GetStats();
        Assert.Equal(3000UL, s.Cpu.Usage.Total);
        Assert.Equal(new ulong[] { 1000, 2000 }, s.Cpu.Usage.PerCpu);
        Assert.Equal(1800UL, s.Cpu.Usage.User);
        Assert.Equal(1200UL, s.Cpu.Usage.Kernel);
        Assert.Equal(3UL, s.Cpu.Throttling.ThrottledPeriods);
        Assert.Equal(8192UL, s.Memory.Usage.Usage);
        Assert.Equal(16384UL, s.Memory.Usage.Max);
        Assert.Equal(65536UL, s.Memory.Usage.Limit);
        Assert.Equal(2UL, s.Memory.Usage.Failcnt);
        Assert.Equal(9000UL, s.Memory.Swap.Usage);
        Assert.Equal(100UL, s.Memory.Kernel.Usage);
        Assert.Equal(4096UL, s.Memory.Raw["rss"]);
        Assert.Equal(3UL, s.Pids.Current);
        Assert.Equal(10UL, s.Pids.Limit);
        Assert.Equal(2, s.Blkio.IoServiceBytesRecursive!.Count);
        Assert.Equal("Write", s.Blkio.IoServiceBytesRecursive[1].Op);
        Assert.Equal(2097152UL, s.Hugetlb["2MB"].Usage);

        using var doc = JsonDocument.Parse(JsonSerializer.Serialize(s, CgroupJsonContext.Default.CgroupStats));
        var root = doc.RootElement;
        Assert.Equal(3000UL, root.GetProperty("cpu").GetProperty("usage").GetProperty("total").GetUInt64());
        Assert.Equal(2, root.GetProperty("cpu").GetProperty("usage").GetProperty("percpu").GetArrayLength());
        Assert.Equal(7UL, root.GetProperty("cpu").GetProperty("throttling").GetProperty("periods").GetUInt64());
        Assert.Equal(3UL, root.GetProperty("cpu").GetProperty("throttling").GetProperty("throttledPeriods").GetUInt64());
        Assert.Equal(999UL, root.GetProperty("cpu").GetProperty("throttling").GetProperty("throttledTime").GetUInt64());
        Assert.Equal(65536UL, root.GetProperty("memory").GetProperty("usage").GetProperty("limit").GetUInt64());
        Assert.Equal(2UL, root.GetProperty("memory").GetProperty("usage").GetProperty("failcnt").GetUInt64());
        Assert.Equal(9000UL, root.GetProperty("memory").GetProperty("swap").GetProperty("usage").GetUInt64());
        Assert.Equal(100UL, root.GetProperty("memory").GetProperty("kernel").GetProperty("usage").GetUInt64());
        Assert.Equal(4096UL, root.GetProperty("memory").GetProperty("raw").GetProperty("cache").GetUInt64());
        Assert.Equal(3UL, root.GetProperty("pids").GetProperty("current").GetUInt64());
        Assert.Equal(10UL, root.GetProperty("pids").GetProperty("limit").GetUInt64());
        var entry = root.GetProperty("blkio").GetProperty("ioServiceBytesRecursive")[0];
        Assert.Equal(8UL, entry.GetProperty("major").GetUInt64());
        Assert.Equal("Read", entry.GetProperty("op").GetString());
        Assert.Equal(512UL, entry.GetProperty("value").GetUInt64());
        Assert.Equal(1UL, root.GetProperty("hugetlb").GetProperty("2MB").GetProperty("failcnt").GetUInt64());
    }

    [Fact]
    public void V2StatsAreRead()
    {
        using var fs = FakeCgroupFs.V2();
        var m = fs.Open("/c");
        m.Create(null);
        const string c = "/sys/fs/cgroup/c/";
        fs.Write(c + "cpu.stat", "usage_usec 5\nuser_usec 3\nsystem_usec 2\nnr_periods 4\nnr_throttled 1\nthrottled_usec 7\n");
        fs.Write(c + "memory.current", "12345");
        fs.Write(c + "memory.events", "low 0\nhigh 0\nmax 6\noom 1\noom_kill 0\n");
        fs.Write(c + "memory.stat", "anon 100\nfile 200\nkernel 30\n");
        fs.Write(c + "pids.current", "2");
        fs.Write(c + "pids.max", "max");
        fs.Write(c + "io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
        var s = m.GetStats();
        Assert.Equal(5000UL, s.Cpu.Usage.Total);
        Assert.Equal(3000UL, s.Cpu.Usage.User);
        Assert.Equal(2000UL, s.Cpu.Usage.Kernel);
        Assert.Equal(7000UL, s.Cpu.Throttling.ThrottledTime);
        Assert.Equal(12345UL, s.Memory.Usage.Usage);
        Assert.Equal(ulong.MaxValue, s.Memory.Usage.Limit);
        Assert.Equal(6UL, s.Memory.Usage.Failcnt);
        Assert.Equal(200UL, s.Memory.Cache);
        Assert.Equal(30UL, s.Memory.Kernel.Usage);
        Assert.Equal(2UL, s.Pids.Current);
        Assert.Equal(0UL, s.Pids.Limit);
        Assert.Equal(new[] { ("Read", 10UL), ("Write", 20UL) }, s.Blkio.IoServiceBytesRecursive!.Select(e => (e.Op, e.Value)));
        Assert.Equal(new[] { ("Read", 1UL), ("Write", 2UL) }, s.Blkio.IoServicedRecursive!.Select(e => (e.Op, e.Value)));
        Assert.True(s.Hugetlb.ContainsKey("2MB"));
    }

    [Fact]
    public void OomKilledReadsTheKernelsCounter()
    {
        using var v1 = FakeCgroupFs.V1();
        var m1 = v1.Open("/c");
        m1.Create(null);
        Assert.False(m1.OomKilled());
        v1.Write("/sys/fs/cgroup/memory/c/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
        Assert.True(m1.OomKilled());

        using var v2 = FakeCgroupFs.V2();
        var m2 = v2.Open("/c");
        m2.Create(null);
        Assert.False(m2.OomKilled());
        v2.Write("/sys/fs/cgroup/c/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n");
        Assert.True(m2.OomKilled());
    }

    [Fact]
    public void V2FreezerStatesAndTimeout()
    {
        using var fs = FakeCgroupFs.V2();
        var m = fs.Open("/c");
        m.Create(null);
        Assert.Equal(FreezerState.Thawed, m.GetFreezerState());
        fs.Write("/sys/fs/cgroup/c/cgroup.freeze", "1");
        Assert.Equal(FreezerState.Freezing, m.GetFreezerState());
        fs.Write("/sys/fs/cgroup/c/cgroup.events", "populated 1\nfrozen 1\n");
        Assert.Equal(FreezerState.Frozen, m.GetFreezerState());
        fs.Write("/sys/fs/cgroup/c/cgroup.freeze", "0");
        fs.Write("/sys/fs/cgroup/c/cgroup.events", "populated 1\nfrozen 0\n");

        // The fake kernel never reports frozen: Freeze gives up, thaws again and says which file it watched.
        var e = Assert.Throws<CgroupException>(() => m.Freeze());
        Assert.Contains("cgroup.events", e.Message);
        Assert.Equal("0", fs.Read("/sys/fs/cgroup/c/cgroup.freeze"));
    }

    [Fact]
    public void V1FreezerWithoutTheControllerIsUndefinedAndFreezeFails()
    {
        using var fs = FakeCgroupFs.V1(new[] { "memory" }, hybrid: false);
        var m = fs.Open("/c");
        m.Create(null);
        Assert.Equal(FreezerState.Undefined, m.GetFreezerState());
        var e = Assert.Throws<CgroupException>(() => m.Freeze());
        Assert.Contains("freezer cgroup controller is not mounted", e.Message);
    }
}
