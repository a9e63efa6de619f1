using Dune.Shim;
using Dune.Shim.Api;
using Dune.Shim.Events;
using Dune.Shim.Processes;
using Dune.Shim.Runtime;
using Dune.Shim.Service;
using Xunit;

namespace Dune.Shim.Tests;

public class ShimOptionsTests
{
    [Fact]
    public void Parses_containerd_start_flags_in_both_forms()
    {
        var o = ShimOptions.Parse(["-namespace", "k8s.io", "--address=/run/c.sock", "-publish-binary", "/usr/bin/containerd",
            "-id", "abc", "-debug", "-bundle", "/b", "start"]);
        Assert.Equal("k8s.io", o.Namespace);
        Assert.Equal("/run/c.sock", o.Address);
        Assert.Equal("/usr/bin/containerd", o.PublishBinary);
        Assert.Equal("abc", o.Id);
        Assert.Equal("/b", o.Bundle);
        Assert.True(o.Debug);
        Assert.Equal("start", o.Action);
    }

    [Fact]
    public void Command_like_flags_and_default_bundle()
    {
        var o = ShimOptions.Parse(["-info"]);
        Assert.True(o.Info);
        Assert.Equal(Directory.GetCurrentDirectory(), o.Bundle);
        Assert.True(ShimOptions.Parse(["-v"]).Version);
    }

    [Fact]
    public void Missing_value_and_two_actions_are_errors()
    {
        Assert.Throws<ArgumentException>(() => ShimOptions.Parse(["-id"]));
        Assert.Throws<ArgumentException>(() => ShimOptions.Parse(["start", "delete"]));
    }
}

public class ExitStatusTests
{
    [Theory]
    [InlineData(0x0000, 0u)]      // exit(0)
    [InlineData(0x0300, 3u)]      // exit(3)
    [InlineData(0xff00, 255u)]    // exit(255)
    [InlineData(0x0009, 137u)]    // SIGKILL
    [InlineData(0x008f, 143u)]    // SIGTERM with core flag: still 128 + 15
    public void Wait_status_becomes_containerds_exit_status(int raw, uint expected)
    {
        Assert.Equal(expected, ExitStatus.FromWaitStatus(raw, DateTime.UnixEpoch).Status);
    }
}

public class RootfsOptionTests
{
    [Fact]
    public void Overlay_options_stay_data()
    {
        var (flags, data) = RootfsMounts.ParseOptions(["index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l1:/l2"]);
        Assert.Equal(0ul, flags);
        Assert.Equal("index=off,workdir=/w,upperdir=/u,lowerdir=/l1:/l2", data);
    }

    [Fact]
    public void Bind_read_only_become_flags()
    {
        var (flags, data) = RootfsMounts.ParseOptions(["ro", "rbind", "nosuid"]);
        Assert.Equal(1ul | 4096ul | 16384ul | 2ul, flags);
        Assert.Equal("", data);
        Assert.Equal(0ul, RootfsMounts.ParseOptions(["ro", "rw"]).Flags);
    }
}

public class EventTypeTests
{
    [Fact]
    public void Events_carry_containerds_bare_type_names()
    {
        Assert.Equal("containerd.events.TaskExit", EventPublisher.TypeUrl(new TaskExit()));
        Assert.Equal("containerd.events.TaskExecStarted", EventPublisher.TypeUrl(new TaskExecStarted()));
        var any = EventPublisher.Pack(new TaskStart { ContainerId = "c", Pid = 7 });
        Assert.Equal("containerd.events.TaskStart", any.TypeUrl);
        Assert.Equal(new TaskStart { ContainerId = "c", Pid = 7 }, TaskStart.Parser.ParseFrom(any.Value));
        Assert.Throws<ArgumentException>(() => EventPublisher.TypeUrl(new StartRequest()));
    }
}

public class MetricsTests
{
    [Fact]
    public void Stats_event_maps_to_cgroup_v1_metrics()
    {
        const string json = """
            {"type":"stats","id":"c","data":{
              "cpu":{"usage":{"total":100,"percpu":[60,40],"kernel":30,"user":70},"throttling":{"periods":5,"throttledPeriods":2,"throttledTime":9}},
              "memory":{"usage":{"limit":9223372036854772000,"usage":2048,"max":4096,"failcnt":1},
                        "raw":{"cache":11,"rss":22,"pgfault":33,"hierarchical_memory_limit":44,"total_rss":55}},
              "pids":{"current":3,"limit":10},
              "blkio":{"ioServiceBytesRecursive":[{"major":8,"minor":0,"op":"Read","value":512}]},
              "hugetlb":{"2MB":{"usage":1,"max":2,"failcnt":0}}}}
            """;
        var m = CgroupV1Metrics.FromStatsEvent(json);
        Assert.Equal(3ul, m.Pids.Current);
        Assert.Equal(10ul, m.Pids.Limit);
        Assert.Equal(100ul, m.Cpu.Usage.Total);
        Assert.Equal(new ulong[] { 60, 40 }, m.Cpu.Usage.PerCpu);
        Assert.Equal(2ul, m.Cpu.Throttling.ThrottledPeriods);
        Assert.Equal(2048ul, m.Memory.Usage.Usage);
        Assert.True(m.Memory.Usage.Limit >= 9223372036854771712ul);
        Assert.Equal(22ul, m.Memory.Rss);
        Assert.Equal(33ul, m.Memory.PgFault);
        Assert.Equal(55ul, m.Memory.TotalRss);
        var io = Assert.Single(m.Blkio.IoServiceBytesRecursive);
        Assert.Equal(("Read", 8ul, 512ul), (io.Op, io.Major, io.Value));
        var huge = Assert.Single(m.Hugetlb);
        Assert.Equal("2MB", huge.Pagesize);
    }
}

public class DuneErrorStatusTests : IDisposable
{
    private readonly string _log = Path.Combine(Path.GetTempPath(), $"dune-shim-log-{Guid.NewGuid():N}.json");

    public void Dispose() => File.Delete(_log);

    [Theory]
    [InlineData(2, Ttrpc.StatusCode.NotFound)]      // ENOENT: dune's "container does not exist"
    [InlineData(3, Ttrpc.StatusCode.NotFound)]      // ESRCH: the process has exited
    [InlineData(17, Ttrpc.StatusCode.AlreadyExists)] // EEXIST
    [InlineData(22, Ttrpc.StatusCode.InvalidArgument)]
    [InlineData(1, Ttrpc.StatusCode.PermissionDenied)]
    [InlineData(0, Ttrpc.StatusCode.Unknown)]       // no errno: no guess from the words
    [InlineData(5, Ttrpc.StatusCode.Unknown)]       // EIO
    public void Errno_decides_the_grpc_code(int errno, Ttrpc.StatusCode expected) =>
        Assert.Equal(expected, ErrnoStatus.Of(errno));

    [Fact]
    public void The_last_error_line_gives_message_and_errno()
    {
        File.WriteAllLines(_log, [
            """{"errno":2,"level":"error","msg":"container \"a\" does not exist","time":"2026-01-01T00:00:00Z"}""",
            "not json",
            """{"level":"warning","msg":"w","time":"2026-01-01T00:00:01Z"}""",
            """{"errno":3,"level":"error","msg":"container \"b\" is not running: container not running","time":"2026-01-01T00:00:02Z"}""",
            """{"level":"info","msg":"i","time":"2026-01-01T00:00:03Z"}""",
        ]);
        var e = DuneLog.LastError(_log);
        Assert.NotNull(e);
        Assert.Equal("container \"b\" is not running: container not running", e.Message);
        Assert.Equal(3, e.Errno);
    }

    [Fact]
    public void A_message_that_says_not_found_without_errno_is_not_NotFound()
    {
        File.WriteAllLines(_log, ["""{"level":"error","msg":"rootfs \"/x\" does not exist (config.json $.root.path)","time":"t"}"""]);
        var e = DuneLog.LastError(_log);
        Assert.NotNull(e);
        Assert.Equal(0, e.Errno);
        Assert.Equal(Ttrpc.StatusCode.Unknown, ErrnoStatus.Of(e.Errno));
    }

    [Fact]
    public void A_missing_log_has_no_error() => Assert.Null(DuneLog.LastError(_log));
}
