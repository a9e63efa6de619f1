using Dune.Oci.Cgroups;
using Xunit;

namespace Dune.Oci.Tests.Cgroups;

public sealed class CgroupPathTests
{
    [Fact]
    public void AbsolutePathHangsOffEveryHierarchyRootIncludingNamedAndHybridUnified()
    {
        using var fs = FakeCgroupFs.V1();
        var m = fs.Open("/a/b");
        Assert.Equal("/a/b", m.Path);
        var expected = new[] { "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "systemd", "unified" }
            .Select(h => fs.P($"/sys/fs/cgroup/{h}/a/b")).ToList();
        Assert.Equal(expected, m.Directories);
        Assert.Equal(expected.Select(d => Path.Combine(d, "cgroup.procs")).ToList(), m.ProcsFiles);
        // A single-threaded process joins v1 hierarchies through tasks (no threadgroup lock), cgroup2 through cgroup.procs.
        Assert.Equal(expected.Select(d => Path.Combine(d, d.EndsWith("/unified/a/b") ? "cgroup.procs" : "tasks")).ToList(), m.SelfJoinFiles);
    }

    [Fact]
    public void RelativePathHangsOffTheCallersOwnCgroupPerHierarchy()
    {
        using var fs = FakeCgroupFs.V1(new[] { "cpu", "memory" }, hybrid: false,
            ownPaths: new() { ["memory"] = "/process_api/f512", ["cpu"] = "/" });
        var m = fs.Open("x/y");
        Assert.Equal("x/y", m.Path);
        Assert.Equal(new[] { fs.P("/sys/fs/cgroup/cpu/x/y"), fs.P("/sys/fs/cgroup/memory/process_api/f512/x/y") }, m.Directories);
    }

    [Fact]
    public void RelativePathOnV2UsesTheOwnCgroupFromProcSelfCgroup()
    {
        using var fs = FakeCgroupFs.V2(ownPath: "/user.slice/session-1.scope");
        var m = fs.Open("ctr");
        Assert.Equal(new[] { fs.P("/sys/fs/cgroup/user.slice/session-1.scope/ctr") }, m.Directories);
        Assert.Equal(new[] { fs.P("/sys/fs/cgroup/user.slice/session-1.scope/ctr/cgroup.procs") }, m.SelfJoinFiles);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void EmptyPathDefaultsToDuneContainerId(string? path)
    {
        using var fs = FakeCgroupFs.V2();
        var m = fs.Open(path, id: "web-1");
        Assert.Equal("/dune/web-1", m.Path);
        Assert.Equal(new[] { fs.P("/sys/fs/cgroup/dune/web-1") }, m.Directories);
    }

    [Fact]
    public void PathIsCleaned()
    {
        using var fs = FakeCgroupFs.V2();
        Assert.Equal("/a/b", fs.Open("//a/./b/").Path);
    }

    [Theory]
    [InlineData("/a/../../etc")]
    [InlineData("../escape")]
    public void DotDotIsRefused(string path)
    {
        using var fs = FakeCgroupFs.V2();
        var e = Assert.Throws<CgroupException>(() => fs.Open(path));
        Assert.Contains("\"..\"", e.Message);
    }

    [Fact]
    public void SystemdDriverWithoutSystemdFailsWithTheExactMessage()
    {
        using var fs = FakeCgroupFs.V1();
        var e = Assert.Throws<CgroupException>(() => fs.Open("system.slice:docker:abc", systemd: true, systemdRunning: false));
        Assert.Equal("systemd cgroup driver requested (--systemd-cgroup) but systemd is not running", e.Message);
    }

    [Theory]
    [InlineData("system.slice:docker:abc", "system.slice:docker:abc", "/system.slice/docker-abc.scope")]
    [InlineData("a-b-c.slice:p:n", "a-b-c.slice:p:n", "/a.slice/a-b.slice/a-b-c.slice/p-n.scope")]
    [InlineData(":dune:x", "system.slice:dune:x", "/system.slice/dune-x.scope")]
    [InlineData("", "system.slice:dune:c1", "/system.slice/dune-c1.scope")]
    [InlineData("-.slice:p:n", "-.slice:p:n", "/p-n.scope")]
    [InlineData("machine.slice:p:sub.slice", "machine.slice:p:sub.slice", "/machine.slice/sub.slice")]
    public void SystemdFormMapsToTheUnitsDirectory(string cgroupsPath, string recorded, string dir)
    {
        using var fs = FakeCgroupFs.V2();
        var m = fs.Open(cgroupsPath, systemd: true, systemdRunning: true);
        // The state keeps the systemd form (so delete finds the unit again), the directories are the unit's.
        Assert.Equal(recorded, m.Path);
        Assert.Equal(new[] { fs.P("/sys/fs/cgroup" + dir) }, m.Directories);
    }

    [Theory]
    [InlineData("/not/systemd")]
    [InlineData("bad:form")]
    [InlineData("nodot:p:n")]
    public void MalformedSystemdPathIsRefused(string cgroupsPath)
    {
        using var fs = FakeCgroupFs.V2();
        Assert.Throws<CgroupException>(() => fs.Open(cgroupsPath, systemd: true, systemdRunning: true));
    }

    [Fact]
    public void CoMountedControllersShareOneDirectory()
    {
        using var fs = FakeCgroupFs.V1(new[] { "cpu,cpuacct", "memory" }, hybrid: false);
        var m = (V1CgroupManager)fs.Open("/c");
        Assert.Equal(2, m.Directories.Count);
        Assert.Equal(fs.P("/sys/fs/cgroup/cpu,cpuacct/c"), m.DirOf("cpu"));
        Assert.Equal(m.DirOf("cpu"), m.DirOf("cpuacct"));
        Assert.Null(m.DirOf("pids"));
    }

    [Fact]
    public void LayoutParsingHandlesMountRootsEscapesAndDuplicateMounts()
    {
        string mountInfo =
            "40 31 0:37 /docker/abc /sys/fs/cgroup/cpu\\040x rw - cgroup cgroup rw,cpuacct,cpu\n" +
            "41 31 0:37 /docker/abc /other/place rw - cgroup cgroup rw,cpuacct,cpu\n" +
            "42 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
        string self = "2:cpu,cpuacct:/docker/abc/inner\n0::/\n";
        var layout = CgroupLayout.Parse(mountInfo, self, "/");
        Assert.Equal(CgroupMode.Hybrid, layout.Mode);
        var h = Assert.Single(layout.V1);
        Assert.Equal(new[] { "cpuacct", "cpu" }, h.Controllers);
        Assert.Equal("/sys/fs/cgroup/cpu x", h.MountPoint);
        Assert.Equal("/sys/fs/cgroup/cpu x/inner", h.OwnDir);
        Assert.Equal("/sys/fs/cgroup/unified", layout.Unified!.MountPoint);
    }

    [Fact]
    public void PureV2IsDetectedAndHybridIsNot()
    {
        using (var v2 = FakeCgroupFs.V2())
            Assert.IsType<V2CgroupManager>(v2.Open("/x"));
        using (var hybrid = FakeCgroupFs.V1())
            Assert.IsType<V1CgroupManager>(hybrid.Open("/x"));
    }

    [Fact]
    public void NoCgroupMountIsAnError()
    {
        var e = Assert.Throws<CgroupException>(() => CgroupLayout.Parse("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n", "0::/\n", "/"));
        Assert.Contains("no cgroup filesystem", e.Message);
    }
}
