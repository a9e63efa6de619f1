using Dune.Shim.Runtime;
using Dune.Shim.Service;
using Xunit;

namespace Dune.Shim.Tests;

/// <summary>A cgroup2 directory lookalike: the files the kernel shows, with the values a test writes.</summary>
internal sealed class FakeCgroup2Dir : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("dune-shim-cg2-").FullName;

    public FakeCgroup2Dir Write(string file, string text)
    {
        File.WriteAllText(Path.Combine(Dir, file), text);
        return this;
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

public class CgroupV2MetricsTests
{
    [Fact]
    public void Cgroup2_files_map_to_the_v2_metrics_message()
    {
        using var cg = new FakeCgroup2Dir()
            .Write("pids.current", "3\n").Write("pids.max", "max\n")
            .Write("cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 7\nnr_throttled 2\nthrottled_usec 90\n")
            .Write("memory.stat", "anon 4096\nfile 8192\nkernel_stack 16384\nslab 100\npgfault 33\nworkingset_refault_anon 5\nworkingset_refault_file 6\n")
            .Write("memory.current", "12288\n").Write("memory.max", "33554432\n").Write("memory.peak", "20000\n")
            .Write("memory.swap.current", "0\n").Write("memory.swap.max", "max\n")
            .Write("memory.events", "low 0\nhigh 1\nmax 4\noom 2\noom_kill 1\n")
            .Write("io.stat", "8:0 rbytes=512 wbytes=1024 rios=1 wios=2 dbytes=0 dios=0\n")
            .Write("hugetlb.2MB.current", "0\n").Write("hugetlb.2MB.max", "4194304\n").Write("hugetlb.2MB.rsvd.current", "0\n");
        var m = CgroupV2Metrics.FromDirectory(cg.Dir);
        Assert.Equal((3ul, ulong.MaxValue), (m.Pids.Current, m.Pids.Limit));
        Assert.Equal((1500ul, 1000ul, 500ul, 7ul, 2ul, 90ul),
            (m.Cpu.UsageUsec, m.Cpu.UserUsec, m.Cpu.SystemUsec, m.Cpu.NrPeriods, m.Cpu.NrThrottled, m.Cpu.ThrottledUsec));
        Assert.Equal((4096ul, 8192ul, 16384ul, 33ul), (m.Memory.Anon, m.Memory.File, m.Memory.KernelStack, m.Memory.Pgfault));
        Assert.Equal(11ul, m.Memory.WorkingsetRefault);
        Assert.Equal((12288ul, 33554432ul, 20000ul), (m.Memory.Usage, m.Memory.UsageLimit, m.Memory.MaxUsage));
        Assert.Equal(ulong.MaxValue, m.Memory.SwapLimit);
        Assert.Equal((1ul, 4ul, 2ul, 1ul), (m.MemoryEvents.High, m.MemoryEvents.Max, m.MemoryEvents.Oom, m.MemoryEvents.OomKill));
        var io = Assert.Single(m.Io.Usage);
        Assert.Equal((8ul, 0ul, 512ul, 1024ul, 1ul, 2ul), (io.Major, io.Minor, io.Rbytes, io.Wbytes, io.Rios, io.Wios));
        var huge = Assert.Single(m.Hugetlb);
        Assert.Equal(("2MB", 4194304ul), (huge.Pagesize, huge.Max));
        Assert.Null(m.Rdma);
    }

    [Fact]
    public void Controllers_that_are_not_enabled_are_left_out()
    {
        // The hybrid host's cgroup2 mount: no controller files besides cpu.stat.
        using var cg = new FakeCgroup2Dir().Write("cpu.stat", "usage_usec 10\nuser_usec 6\nsystem_usec 4\n");
        var m = CgroupV2Metrics.FromDirectory(cg.Dir);
        Assert.Equal(10ul, m.Cpu.UsageUsec);
        Assert.Null(m.Pids);
        Assert.Null(m.Memory);
        Assert.Null(m.MemoryEvents);
        Assert.Empty(m.Hugetlb);
    }

    [Fact]
    public void The_metrics_message_round_trips_with_its_type_url()
    {
        using var cg = new FakeCgroup2Dir().Write("pids.current", "1\n").Write("pids.max", "42\n");
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(CgroupV2Metrics.FromDirectory(cg.Dir));
        var back = Api.CgroupsV2.Metrics.Parser.ParseFrom(bytes);
        Assert.Equal(42ul, back.Pids.Limit);
        Assert.Equal("io.containerd.cgroups.v2.Metrics", CgroupV2Metrics.TypeUrl);
        Assert.Equal("io.containerd.cgroups.v2.Metrics", Api.CgroupsV2.Metrics.Descriptor.FullName);
    }

    [Theory]
    [InlineData("0::/dune/c1\n", "/sys/fs/cgroup/dune/c1")]
    [InlineData("0::/\n", "/sys/fs/cgroup")]
    [InlineData("12:memory:/x\n0::/a/b\n", "/sys/fs/cgroup/a/b")]
    [InlineData("0::/gone (deleted)\n", null)]
    [InlineData("4:memory:/x\n", null)]
    public void The_cgroup2_directory_comes_from_the_0_line(string procCgroup, string? expected) =>
        Assert.Equal(expected, CgroupV2Dir.FromProcCgroup(procCgroup, "/sys/fs/cgroup"));
}

public class MemoryEventsWatcherTests
{
    [Fact]
    public void Each_rise_of_oom_kill_is_reported_once_and_removal_ends_the_watch()
    {
        using var cg = new FakeCgroup2Dir().Write("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
        using var ooms = new SemaphoreSlim(0);
        Assert.True(MemoryEventsWatcher.Start(cg.Dir, () => ooms.Release(), _ => { }));
        // Another counter moving is not an OOM kill.
        cg.Write("memory.events", "low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\n");
        Assert.False(ooms.Wait(300));
        cg.Write("memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
        Assert.True(ooms.Wait(5000), "oom_kill 0 -> 1 is reported");
        cg.Write("memory.events", "low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n");
        Assert.True(ooms.Wait(5000), "oom_kill 1 -> 2 is reported");
        Assert.False(ooms.Wait(300), "one report per rise");
        File.Delete(Path.Combine(cg.Dir, "memory.events"));
    }

    [Fact]
    public void A_cgroup_without_memory_events_is_not_watched()
    {
        using var cg = new FakeCgroup2Dir();
        Assert.False(MemoryEventsWatcher.Start(cg.Dir, () => { }, _ => { }));
    }
}
