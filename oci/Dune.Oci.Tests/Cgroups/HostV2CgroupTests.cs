using Dune.Oci.Cgroups;
using Dune.Oci.Spec;
using Xunit;
using Process = System.Diagnostics.Process;

namespace Dune.Oci.Tests.Cgroups;

/// <summary>
/// The v2 manager against the kernel: this hybrid host's cgroup2 mount (/sys/fs/cgroup/unified) is shown to
/// the manager as if it were the only cgroup mount. Only hugetlb is bound to v2 here, so memory/pids limits are
/// checked to fail by name, while freeze, pids, controller enabling and hugetlb run for real. Needs root.
/// </summary>
[Collection("host cgroupfs")]
public sealed class HostV2CgroupTests : IDisposable
{
    private const string Mount = "/sys/fs/cgroup/unified";
    private readonly string _path = "/dune-test-v2/" + Guid.NewGuid().ToString("N");
    private readonly List<Process> _processes = new();
    private readonly bool _hugetlbWasEnabled;
    private readonly ICgroupManager _manager;

    public HostV2CgroupTests()
    {
        string uidLine = File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        string euid = uidLine.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2];
        Assert.True(euid == "0", $"host cgroup tests need root (effective uid is {euid})");
        Assert.True(Directory.Exists(Mount), $"{Mount} (the cgroup2 mount of this hybrid host) is missing");
        _hugetlbWasEnabled = File.ReadAllText(Path.Combine(Mount, "cgroup.subtree_control")).Contains("hugetlb");
        string v2Only = string.Join('\n', File.ReadLines("/proc/self/mountinfo").Where(l => l.Contains(" - cgroup2 "))) + "\n";
        var env = new CgroupEnvironment(v2Only, File.ReadAllText("/proc/self/cgroup"), "/", false, KernelCgroupDirOps.Instance);
        _manager = CgroupManagerFactory.Open(_path, "unused", false, env);
        Assert.IsType<V2CgroupManager>(_manager);
    }

    private Process Start(string file, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file) { UseShellExecute = false };
        foreach (string a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        _processes.Add(p);
        return p;
    }

    [Fact]
    public void FreezeThawPidsAndDestroyOnTheKernel()
    {
        var m = _manager;
        m.Create(null);
        string dir = Assert.Single(m.Directories);
        Assert.Equal(Mount + _path, dir);
        var sleeper = Start("sleep", "1000");
        string counterFile = Path.GetTempFileName();
        try
        {
            var counter = Start("/bin/sh", "-c", $"i=0; while :; do i=$((i+1)); echo $i > {counterFile}; done");
            foreach (var p in new[] { sleeper, counter })
                File.WriteAllText(Assert.Single(m.ProcsFiles), p.Id.ToString());
            Assert.Equal(new[] { sleeper.Id, counter.Id }.Order(), m.GetPids());
            Assert.Contains($"0::{_path}\n", File.ReadAllText($"/proc/{sleeper.Id}/cgroup"));

            m.Freeze();
            Assert.Contains("frozen 1", File.ReadAllText(Path.Combine(dir, "cgroup.events")));
            Assert.Equal(FreezerState.Frozen, m.GetFreezerState());
            string before = File.ReadAllText(counterFile);
            Thread.Sleep(300);
            Assert.Equal(before, File.ReadAllText(counterFile));
            m.Thaw();
            Assert.Equal(FreezerState.Thawed, m.GetFreezerState());
            Assert.True(SpinWait.SpinUntil(() => File.ReadAllText(counterFile) != before, TimeSpan.FromSeconds(5)));

            Assert.True(m.GetStats().Cpu.Usage.Total > 0, "cpu.stat usage_usec counts the counter's CPU time");
            sleeper.Kill();
            counter.Kill();
            m.Destroy(); // tasks may still be dying
            Assert.False(Directory.Exists(dir));
            Assert.False(Directory.Exists(Mount + "/dune-test-v2"), "the ancestor it created goes too");
        }
        finally
        {
            File.Delete(counterFile);
        }
    }

    [Fact]
    public void PreExistingFrozenCgroupIsRefusedAndLeftInPlace()
    {
        // runc's "runc run/create should refuse pre-existing frozen cgroup": an init joining it would freeze for ever.
        string dir = Mount + _path;
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "cgroup.freeze"), "1");
        var e = Assert.Throws<CgroupException>(() => _manager.Create(null));
        Assert.StartsWith("container's cgroup unexpectedly frozen", e.Message);
        Assert.True(Directory.Exists(dir), "the cgroup made beforehand is not the runtime's to remove");
        Directory.Delete(dir);
    }

    [Fact]
    public void KillAllReachesSubCgroupsAndFrozenProcesses()
    {
        var m = _manager;
        m.Create(null);
        string dir = Assert.Single(m.Directories);
        var top = Start("sleep", "1000");
        var below = Start("sleep", "1000");
        File.WriteAllText(Path.Combine(dir, "cgroup.procs"), top.Id.ToString());
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        File.WriteAllText(Path.Combine(dir, "sub", "cgroup.procs"), below.Id.ToString());
        m.Freeze();
        Assert.True(m.TryKillAll(), "this kernel has cgroup.kill");
        Assert.True(top.WaitForExit(5000) && below.WaitForExit(5000), "cgroup.kill ends frozen processes below the leaf too");
        m.Thaw();
        m.Destroy();
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void ParentHandsHugetlbDownAndTheLimitIsWritten()
    {
        _manager.Create(new LinuxResources { HugepageLimits = new() { new LinuxHugepageLimit { PageSize = "2MB", Limit = 4 << 21 } } });
        string dir = _manager.Directories[0];
        Assert.Contains("hugetlb", File.ReadAllText(Path.Combine(Mount, "dune-test-v2", "cgroup.subtree_control")));
        Assert.Equal("8388608", File.ReadAllText(Path.Combine(dir, "hugetlb.2MB.max")).Trim());
        Assert.True(_manager.GetStats().Hugetlb.ContainsKey("2MB"));
        _manager.Destroy();
    }

    [Fact]
    public void ControllerBoundToV1IsNamedAndNothingIsLeft()
    {
        var e = Assert.Throws<CgroupException>(() => _manager.Create(new LinuxResources { Memory = new LinuxMemory { Limit = 1 << 20 } }));
        Assert.StartsWith("linux.resources.memory needs the memory cgroup v2 controller", e.Message);
        Assert.False(Directory.Exists(Mount + _path));
    }

    // A shell that joins the cgroup, then tries each device: "null-ok", "zero-ok", "mknod-ok" for what works.
    private string ProbeDevices(string dir)
    {
        string tmp = Directory.CreateTempSubdirectory("dune-v2dev-").FullName;
        try
        {
            // No probe but the first touches /dev/null: it may be the denied one.
            string script = $"echo $$ > {dir}/cgroup.procs || exit 9; exec 2>{tmp}/err; "
                + "(echo x > /dev/null) && echo null-ok; "
                + $"(head -c 1 /dev/zero > {tmp}/zero) && echo zero-ok; "
                + $"mknod {tmp}/mem c 1 1 && echo mknod-ok; true";
            var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardOutput = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(script);
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"probe shell exited {p.ExitCode}");
            return string.Join(' ', output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally { Directory.Delete(tmp, recursive: true); }
    }

    // bpftool's "ID AttachType AttachFlags Name" rows for the directory itself.
    private static List<string[]> AttachedPrograms(string dir)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("bpftool") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "cgroup", "show", dir }) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException("bpftool is missing (e2e/install-deps.sh installs it)", e); }
        using (p)
        {
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"bpftool cgroup show {dir} failed: {p.StandardError.ReadToEnd()}");
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        }
    }

    private static bool ProgramExists(string id)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("bpftool") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "prog", "show", "id", id }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0;
    }

    [Fact]
    public void DeviceProgramIsEnforcedReplacedAndDetachedOnTheKernel()
    {
        var m = _manager;
        var deny = new LinuxDeviceCgroup { Allow = false, Access = "rwm" };
        m.Create(new LinuxResources { Devices = new() { deny, new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "rwm" } } });
        string dir = Assert.Single(m.Directories);
        var first = Assert.Single(AttachedPrograms(dir));
        Assert.Equal(new[] { "cgroup_device", "multi", DeviceProgram.Name }, first.Skip(1));
        Assert.Equal("null-ok", ProbeDevices(dir));

        m.Update(new LinuxResources { Devices = new() { deny, new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 5, Access = "r" },
            new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 1, Access = "m" } } });
        var second = Assert.Single(AttachedPrograms(dir));
        Assert.NotEqual(first[0], second[0]);
        Assert.Equal("zero-ok mknod-ok", ProbeDevices(dir));

        // Back to no restriction: the program goes.
        m.Update(new LinuxResources { Devices = new() { new LinuxDeviceCgroup { Allow = true, Access = "rwm" } } });
        Assert.Empty(AttachedPrograms(dir));
        Assert.Equal("null-ok zero-ok mknod-ok", ProbeDevices(dir));

        m.Update(new LinuxResources { Devices = new() { deny } });
        var third = Assert.Single(AttachedPrograms(dir));
        Assert.Equal("", ProbeDevices(dir));
        m.Destroy();
        Assert.False(Directory.Exists(dir));
        Assert.True(SpinWait.SpinUntil(() => !ProgramExists(third[0]), TimeSpan.FromSeconds(5)), $"program {third[0]} is still loaded after delete");
    }

    [Fact]
    public void SeveralProgramsOnTheCgroupAreAllReplaced()
    {
        // Two programs on the cgroup (say a crashed update left one): the new one goes on and both old ones go.
        var m = _manager;
        var deny = new LinuxDeviceCgroup { Allow = false, Access = "rwm" };
        m.Create(new LinuxResources { Devices = new() { deny } });
        string dir = Assert.Single(m.Directories);
        string sibling = dir + "-other";
        Directory.CreateDirectory(sibling);
        try
        {
            KernelDeviceFilter.Instance.Install(sibling, DeviceProgram.Compile(new[] { deny, new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 5, Access = "r" } }));
            string other = Assert.Single(AttachedPrograms(sibling))[0];
            using (var p = Process.Start("bpftool", new[] { "cgroup", "attach", dir, "device", "id", other, "multi" })) p.WaitForExit();
            Assert.Equal(2, AttachedPrograms(dir).Count);
            m.Update(new LinuxResources { Devices = new() { deny, new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "rw" } } });
            Assert.Single(AttachedPrograms(dir));
            Assert.Equal("null-ok", ProbeDevices(dir));
            m.Destroy();
        }
        finally
        {
            KernelDeviceFilter.Instance.Remove(sibling);
            Directory.Delete(sibling);
        }
    }

    [Fact]
    public void ADirectoryThatIsNoCgroupGetsAClearError()
    {
        string dir = Directory.CreateTempSubdirectory("dune-v2dev-").FullName;
        try
        {
            var deny = new LinuxDeviceCgroup { Allow = false, Access = "rwm" };
            var e = Assert.Throws<CgroupException>(() => KernelDeviceFilter.Instance.Install(dir, DeviceProgram.Compile(new[] { deny })));
            Assert.Contains($"listing the device programs of {dir} (BPF_PROG_QUERY, BPF_CGROUP_DEVICE) failed: ", e.Message);
        }
        finally { Directory.Delete(dir); }
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try { if (!p.HasExited) p.Kill(); p.WaitForExit(); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        try { _manager.Destroy(); } catch (CgroupException) { }
        try { Directory.Delete(Mount + "/dune-test-v2"); } catch (IOException) { }
        if (!_hugetlbWasEnabled)
        {
            // Put the host's root back as it was.
            try { File.WriteAllText(Path.Combine(Mount, "cgroup.subtree_control"), "-hugetlb"); } catch (IOException) { }
        }
    }
}
