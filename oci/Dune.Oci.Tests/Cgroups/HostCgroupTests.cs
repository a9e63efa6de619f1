using System.Diagnostics;
using Dune.Oci.Cgroups;
using Dune.Oci.Spec;
using Xunit;
using Process = System.Diagnostics.Process;

namespace Dune.Oci.Tests.Cgroups;

/// <summary>
/// Against this host's real cgroupfs (needs root; fails, never skips, without it). Each test uses its own
/// /dune-test/&lt;guid&gt; cgroup and Dispose kills its processes and removes what is left.
/// </summary>
[Collection("host cgroupfs")]
public sealed class HostCgroupTests : IDisposable
{
    private readonly string _path = "/dune-test/" + Guid.NewGuid().ToString("N");
    private readonly List<Process> _processes = new();
    private readonly List<string> _tempFiles = new();
    private ICgroupManager? _manager;

    private ICgroupManager Manager()
    {
        RequireRoot();
        return _manager ??= CgroupManagerFactory.Open(_path, "unused", systemd: false);
    }

    private static void RequireRoot()
    {
        string uidLine = File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        string euid = uidLine.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2];
        Assert.True(euid == "0", $"host cgroup tests need root (effective uid is {euid}): run `dotnet test` as root");
    }

    private Process Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardInput = true, UseShellExecute = false };
        foreach (string a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        _processes.Add(p);
        return p;
    }

    private static void Join(ICgroupManager m, int pid)
    {
        foreach (string procs in m.ProcsFiles)
            File.WriteAllText(procs, pid.ToString());
    }

    private static void KillAndWait(Process p)
    {
        if (!p.HasExited) p.Kill();
        p.WaitForExit();
    }

    [Fact]
    public void CreateJoinFreezeStatsKillDestroy()
    {
        var m = Manager();
        m.Create(new LinuxResources { Memory = new LinuxMemory { Limit = 64 << 20 }, Pids = new LinuxPids { Limit = 32 } });
        var cgroupDirs = m.Directories;
        Assert.Contains(cgroupDirs, d => d.StartsWith("/sys/fs/cgroup/systemd/", StringComparison.Ordinal));
        string memDir = Assert.Single(cgroupDirs, d => d.StartsWith("/sys/fs/cgroup/memory/", StringComparison.Ordinal));
        string pidsDir = Assert.Single(cgroupDirs, d => d.StartsWith("/sys/fs/cgroup/pids/", StringComparison.Ordinal));
        string freezerDir = Assert.Single(cgroupDirs, d => d.StartsWith("/sys/fs/cgroup/freezer/", StringComparison.Ordinal));
        Assert.Equal("67108864", File.ReadAllText(Path.Combine(memDir, "memory.limit_in_bytes")).Trim());
        Assert.Equal("32", File.ReadAllText(Path.Combine(pidsDir, "pids.max")).Trim());

        var sleeper = Start("sleep", "1000");
        string counterFile = Path.GetTempFileName();
        _tempFiles.Add(counterFile);
        var counter = Start("/bin/sh", "-c", $"i=0; while :; do i=$((i+1)); echo $i > {counterFile}; done");
        Join(m, sleeper.Id);
        Join(m, counter.Id);
        var pids = m.GetPids();
        Assert.Contains(sleeper.Id, pids);
        Assert.Contains(counter.Id, pids);
        string selfCgroup = File.ReadAllText($"/proc/{sleeper.Id}/cgroup");
        Assert.Contains($"memory:{_path}\n", selfCgroup);
        Assert.Contains($"name=systemd:{_path}\n", selfCgroup);

        Assert.Equal(FreezerState.Thawed, m.GetFreezerState());
        m.Freeze();
        Assert.Equal("FROZEN", File.ReadAllText(Path.Combine(freezerDir, "freezer.state")).Trim());
        Assert.Equal(FreezerState.Frozen, m.GetFreezerState());
        string stat = File.ReadAllText($"/proc/{counter.Id}/stat");
        char state = stat[stat.LastIndexOf(')') + 2];
        string wchan = File.ReadAllText($"/proc/{counter.Id}/wchan");
        Assert.True(state == 'D' || wchan.Contains("refrigerator") || wchan.Contains("freezer"),
            $"frozen task shows state {state}, wchan {wchan}");
        string before = File.ReadAllText(counterFile);
        Thread.Sleep(300);
        Assert.Equal(before, File.ReadAllText(counterFile));

        m.Thaw();
        Assert.Equal(FreezerState.Thawed, m.GetFreezerState());
        Assert.True(SpinWait.SpinUntil(() => File.ReadAllText(counterFile) != before, TimeSpan.FromSeconds(5)),
            "the counter moves again after Thaw");

        var stats = m.GetStats();
        Assert.True(stats.Memory.Usage.Usage > 0, "memory usage is non-zero");
        Assert.Equal(67108864UL, stats.Memory.Usage.Limit);
        Assert.True(stats.Pids.Current >= 2, $"pids.current is {stats.Pids.Current}");
        Assert.Equal(32UL, stats.Pids.Limit);
        Assert.True(stats.Cpu.Usage.Total > 0, "the counter used CPU");
        Assert.Equal(Environment.ProcessorCount, stats.Cpu.Usage.PerCpu!.Count);
        Assert.False(m.OomKilled());

        KillAndWait(sleeper);
        KillAndWait(counter);
        m.Destroy();
        foreach (string d in cgroupDirs) Assert.False(Directory.Exists(d), $"{d} is left behind");
        m.Destroy();
    }

    [Fact]
    public void DestroyRightAfterKillWaitsForTheDyingTask()
    {
        var m = Manager();
        m.Create(null);
        var sleeper = Start("sleep", "1000");
        Join(m, sleeper.Id);
        sleeper.Kill(); // no wait: the task may still be leaving when Destroy runs
        m.Destroy();
        Assert.All(m.Directories, d => Assert.False(Directory.Exists(d)));
        sleeper.WaitForExit();
    }

    [Fact]
    public void MemoryAndSwapLimitsMoveUpAndDownInTheOrderTheKernelAccepts()
    {
        var m = Manager();
        m.Create(new LinuxResources { Memory = new LinuxMemory { Limit = 100 << 20, Swap = 200 << 20 } });
        string dir = m.Directories.Single(d => d.StartsWith("/sys/fs/cgroup/memory/", StringComparison.Ordinal));
        string Limit() => File.ReadAllText(Path.Combine(dir, "memory.limit_in_bytes")).Trim();
        string Memsw() => File.ReadAllText(Path.Combine(dir, "memory.memsw.limit_in_bytes")).Trim();
        Assert.Equal((100 << 20).ToString(), Limit());
        Assert.Equal((200 << 20).ToString(), Memsw());

        m.Update(new LinuxResources { Memory = new LinuxMemory { Limit = 300 << 20, Swap = 600 << 20 } }); // raise: memsw first
        Assert.Equal((300 << 20).ToString(), Limit());
        Assert.Equal((600 << 20).ToString(), Memsw());

        m.Update(new LinuxResources { Memory = new LinuxMemory { Limit = 50 << 20, Swap = 60 << 20 } }); // lower: limit first
        Assert.Equal((50 << 20).ToString(), Limit());
        Assert.Equal((60 << 20).ToString(), Memsw());

        m.Update(new LinuxResources { Memory = new LinuxMemory { Limit = -1 } }); // unlimited lifts memsw too
        Assert.Equal("9223372036854771712", Limit());
        Assert.Equal("9223372036854771712", Memsw());
        m.Destroy();
    }

    [Fact]
    public void DeviceRulesReplayInOrder()
    {
        var m = Manager();
        m.Create(new LinuxResources
        {
            Devices = new()
            {
                new LinuxDeviceCgroup { Allow = false, Access = "rwm" },
                new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "rwm" },
                new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 5, Access = "rw" },
                new LinuxDeviceCgroup { Allow = true, Type = "b", Major = 8, Minor = -1, Access = "r" },
                new LinuxDeviceCgroup { Allow = false, Type = "c", Major = 1, Minor = 3, Access = "w" },
            },
        });
        string dir = m.Directories.Single(d => d.StartsWith("/sys/fs/cgroup/devices/", StringComparison.Ordinal));
        var list = File.ReadAllText(Path.Combine(dir, "devices.list")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order().ToArray();
        Assert.Equal(new[] { "b 8:* r", "c 1:3 rm", "c 1:5 rw" }, list);
        m.Destroy();
    }

    [Fact]
    public void DeviceUpdateLeavesTheNewRulesInForce()
    {
        var m = Manager();
        var deny = new LinuxDeviceCgroup { Allow = false, Access = "rwm" };
        m.Create(new LinuxResources { Devices = new() { deny, new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "rwm" } } });
        string dir = m.Directories.Single(d => d.StartsWith("/sys/fs/cgroup/devices/", StringComparison.Ordinal));
        m.Update(new LinuxResources
        {
            Devices = new()
            {
                deny,
                new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "r" },
                new LinuxDeviceCgroup { Allow = true, Type = "b", Major = 8, Access = "rw" },
                // runc's "rwa": the known letters are denied, the rest ignored with a warning.
                new LinuxDeviceCgroup { Allow = false, Type = "b", Major = 8, Access = "wa" },
            },
        });
        var list = File.ReadAllText(Path.Combine(dir, "devices.list")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order().ToArray();
        Assert.Equal(new[] { "b 8:* r", "c 1:3 r" }, list);
        m.Update(new LinuxResources { Devices = new() { new LinuxDeviceCgroup { Allow = true, Access = "rwm" } } });
        Assert.Equal("a *:* rwm", File.ReadAllText(Path.Combine(dir, "devices.list")).Trim());
        m.Destroy();
    }

    [Fact]
    public void NestedCgroupInheritsCpusetAtEveryLevel()
    {
        RequireRoot();
        var m = CgroupManagerFactory.Open(_path + "/inner/leaf", "unused", false);
        _manager = m;
        m.Create(new LinuxResources { Pids = new LinuxPids { Limit = 5 } });
        string root = File.ReadAllText("/sys/fs/cgroup/cpuset/cpuset.cpus").Trim();
        foreach (string level in new[] { _path, _path + "/inner", _path + "/inner/leaf" })
            Assert.Equal(root, File.ReadAllText($"/sys/fs/cgroup/cpuset{level}/cpuset.cpus").Trim());
        var sleeper = Start("sleep", "1000");
        Join(m, sleeper.Id); // an empty cpuset would refuse the task
        KillAndWait(sleeper);
        m.Destroy();
        // It made every level, so it removes every level.
        Assert.False(Directory.Exists("/sys/fs/cgroup/memory" + _path));
    }

    [Fact]
    public void OomKillIsReported()
    {
        var m = Manager();
        m.Create(new LinuxResources { Memory = new LinuxMemory { Limit = 16 << 20, Swap = 16 << 20 } });
        // dd's 64 MiB buffer cannot fit in 16 MiB of memory+swap.
        var hog = Start("/bin/sh", "-c", "read go; exec dd if=/dev/zero of=/dev/null bs=64M count=4");
        Join(m, hog.Id);
        hog.StandardInput.WriteLine("go");
        hog.StandardInput.Flush();
        Assert.True(hog.WaitForExit(20_000), "dd ends");
        Assert.NotEqual(0, hog.ExitCode);
        Assert.True(m.OomKilled(), "memory.oom_control reports the OOM kill");
        m.Destroy();
    }

    [Fact]
    public void UnifiedMapIsRefusedOnThisV1Host()
    {
        var m = Manager();
        var e = Assert.Throws<CgroupException>(() => m.Create(new LinuxResources { Unified = new() { ["memory.high"] = "1" } }));
        Assert.Equal("invalid configuration: linux.resources.unified requires cgroup v2, but this host runs cgroup v1", e.Message);
        Assert.All(m.Directories, d => Assert.False(Directory.Exists(d)));
    }

    [Fact]
    public void RelativePathLandsUnderTheCallersOwnCgroup()
    {
        RequireRoot();
        string rel = "dune-test-rel-" + Guid.NewGuid().ToString("N");
        var m = CgroupManagerFactory.Open(rel, "unused", false);
        _manager = m;
        string own = File.ReadLines("/proc/self/cgroup").First(l => l.Split(':')[1] == "memory").Split(':')[2];
        string expected = "/sys/fs/cgroup/memory" + (own == "/" ? "" : own) + "/" + rel;
        Assert.Contains(expected, m.Directories);
        m.Create(null);
        Assert.True(Directory.Exists(expected));
        m.Destroy();
        Assert.False(Directory.Exists(expected));
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try { KillAndWait(p); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        try { _manager?.Destroy(); } catch (CgroupException) { }
        foreach (string f in _tempFiles) File.Delete(f);
    }
}
