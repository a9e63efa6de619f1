using Dune.Oci.Cgroups;

namespace Dune.Oci.Tests.Cgroups;

/// <summary>
/// A cgroupfs lookalike in a temporary directory: mkdir fills a new cgroup with the control files of its
/// hierarchy (v2: of the controllers its parent enabled), rmdir refuses while processes or children remain.
/// </summary>
internal sealed class FakeCgroupFs : ICgroupDirOps, IDisposable
{
    private readonly Dictionary<string, string[]> _v1Controllers = new(StringComparer.Ordinal); // mount point -> controllers
    private readonly string? _v2Mount;
    private readonly Func<string, bool>? _fileFilter;

    public string Root { get; }
    public string MountInfo { get; }
    public string ProcSelfCgroup { get; }

    private FakeCgroupFs(string root, string mountInfo, string procSelfCgroup, Dictionary<string, string[]> v1, string? v2Mount, Func<string, bool>? fileFilter)
    {
        Root = root;
        MountInfo = mountInfo;
        ProcSelfCgroup = procSelfCgroup;
        _v1Controllers = v1;
        _v2Mount = v2Mount;
        _fileFilter = fileFilter;
    }

    /// <summary>cgroup v1: one hierarchy per entry of <paramref name="hierarchies"/> ("cpu,cpuacct" co-mounts), optionally the hybrid cgroup2 mount.</summary>
    public static FakeCgroupFs V1(string[]? hierarchies = null, bool hybrid = true, Dictionary<string, string>? ownPaths = null,
        Func<string, bool>? fileFilter = null)
    {
        hierarchies ??= new[] { "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "name=systemd" };
        string root = NewRoot();
        var mounts = new System.Text.StringBuilder("31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n");
        var self = new System.Text.StringBuilder();
        var v1 = new Dictionary<string, string[]>(StringComparer.Ordinal);
        int id = 32;
        foreach (string h in hierarchies)
        {
            string dirName = h.StartsWith("name=", StringComparison.Ordinal) ? h.Substring(5) : h;
            string mountPoint = "/sys/fs/cgroup/" + dirName;
            mounts.Append($"{id} 31 0:{id} / {mountPoint} rw,nosuid,nodev,noexec,relatime shared:{id} - cgroup cgroup rw,{h}\n");
            string own = ownPaths != null && ownPaths.TryGetValue(h, out string? p) ? p : "/";
            self.Insert(0, $"{id - 31}:{h}:{own}\n");
            v1[Path.Join(root, mountPoint)] = h.Split(',');
            id++;
        }
        string? v2 = null;
        if (hybrid)
        {
            mounts.Append($"{id} 31 0:{id} / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:{id} - cgroup2 cgroup2 rw\n");
            self.Append("0::/\n");
            v2 = Path.Join(root, "/sys/fs/cgroup/unified");
        }
        var fs = new FakeCgroupFs(root, mounts.ToString(), self.ToString(), v1, v2, fileFilter);
        foreach (var (mount, controllers) in v1)
        {
            Directory.CreateDirectory(mount);
            fs.Populate(mount, isRoot: true);
        }
        if (v2 != null)
        {
            Directory.CreateDirectory(v2);
            fs.PopulateV2(v2, Array.Empty<string>(), isRoot: true);
        }
        return fs;
    }

    /// <summary>Pure cgroup v2 at /sys/fs/cgroup with <paramref name="controllers"/> available at the root.</summary>
    public static FakeCgroupFs V2(string[]? controllers = null, string ownPath = "/", Func<string, bool>? fileFilter = null)
    {
        controllers ??= new[] { "cpuset", "cpu", "io", "memory", "hugetlb", "pids" };
        string root = NewRoot();
        string mountInfo = "25 1 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";
        string mount = Path.Join(root, "/sys/fs/cgroup");
        var fs = new FakeCgroupFs(root, mountInfo, "0::" + ownPath + "\n", new(), mount, fileFilter);
        Directory.CreateDirectory(mount);
        fs.PopulateV2(mount, controllers, isRoot: true);
        return fs;
    }

    /// <summary>The device programs the v2 manager attached.</summary>
    public FakeDeviceFilter Devices { get; } = new();

    public CgroupEnvironment Env(bool systemdRunning = false, TimeSpan? removePatience = null) =>
        new(MountInfo, ProcSelfCgroup, Root, systemdRunning, this)
        {
            DeviceFilter = Devices,
            RemovePatience = removePatience ?? TimeSpan.FromMilliseconds(200),
            FreezePatience = TimeSpan.FromMilliseconds(200),
        };

    public ICgroupManager Open(string? cgroupsPath, string id = "c1", bool systemd = false, bool systemdRunning = false) =>
        CgroupManagerFactory.Open(cgroupsPath, id, systemd, Env(systemdRunning));

    /// <summary>Full path of a host path inside the fake ("/sys/fs/cgroup/memory/x").</summary>
    public string P(string hostPath) => Path.Join(Root, hostPath);

    public string Read(string hostPath) => File.ReadAllText(P(hostPath)).Trim();

    public void Write(string hostPath, string value) => File.WriteAllText(P(hostPath), value);

    public void MakeDir(string dir)
    {
        if (Directory.Exists(dir)) throw new IOException($"File exists : '{dir}'");
        string parent = Path.GetDirectoryName(dir)!;
        if (!Directory.Exists(parent)) throw new DirectoryNotFoundException($"No such file or directory : '{dir}'");
        Directory.CreateDirectory(dir);
        if (IsUnder(dir, _v2Mount))
        {
            // The kernel offers a child the controllers its parent enabled in cgroup.subtree_control.
            string[] enabled = File.ReadAllText(Path.Combine(parent, "cgroup.subtree_control"))
                .Split(new[] { ' ', '\n' }, StringSplitOptions.RemoveEmptyEntries).Select(c => c.TrimStart('+')).ToArray();
            PopulateV2(dir, enabled, isRoot: false);
        }
        else Populate(dir, isRoot: false);
    }

    public void RemoveDir(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"No such file or directory : '{dir}'");
        if (Directory.GetDirectories(dir).Length > 0) throw new IOException($"Device or resource busy : '{dir}'");
        string procs = Path.Combine(dir, "cgroup.procs");
        if (File.Exists(procs) && File.ReadAllText(procs).Trim().Length > 0) throw new IOException($"Device or resource busy : '{dir}'");
        Directory.Delete(dir, recursive: true);
    }

    private static bool IsUnder(string dir, string? mount) =>
        mount != null && (dir == mount || dir.StartsWith(mount + "/", StringComparison.Ordinal));

    private void Populate(string dir, bool isRoot)
    {
        string mount = _v1Controllers.Keys.First(m => IsUnder(dir, m));
        Put(dir, "cgroup.procs", "");
        Put(dir, "tasks", "");
        foreach (string c in _v1Controllers[mount])
            foreach (var (name, value) in V1Files(c, isRoot))
                Put(dir, name, value);
    }

    private void PopulateV2(string dir, string[] controllers, bool isRoot)
    {
        Put(dir, "cgroup.procs", "");
        Put(dir, "cgroup.controllers", string.Join(' ', controllers) + "\n");
        Put(dir, "cgroup.subtree_control", "");
        Put(dir, "cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n");
        if (!isRoot)
        {
            Put(dir, "cgroup.freeze", "0\n");
            Put(dir, "cgroup.events", "populated 0\nfrozen 0\n");
        }
        foreach (string c in controllers)
            foreach (var (name, value) in V2Files(c, isRoot))
                Put(dir, name, value);
    }

    private void Put(string dir, string name, string value)
    {
        if (_fileFilter != null && !_fileFilter(name)) return;
        System.IO.File.WriteAllText(Path.Combine(dir, name), value);
    }

    private const string V1Max = "9223372036854771712";

    private static IEnumerable<(string, string)> V1Files(string controller, bool isRoot)
    {
        switch (controller)
        {
            case "memory":
                foreach (string p in new[] { "memory", "memory.memsw", "memory.kmem", "memory.kmem.tcp" })
                {
                    yield return ($"{p}.limit_in_bytes", V1Max + "\n");
                    yield return ($"{p}.usage_in_bytes", "0\n");
                    yield return ($"{p}.max_usage_in_bytes", "0\n");
                    yield return ($"{p}.failcnt", "0\n");
                }
                yield return ("memory.soft_limit_in_bytes", V1Max + "\n");
                yield return ("memory.swappiness", "60\n");
                yield return ("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
                yield return ("memory.stat", "cache 0\nrss 0\n");
                break;
            case "cpu":
                yield return ("cpu.shares", "1024\n");
                yield return ("cpu.cfs_period_us", "100000\n");
                yield return ("cpu.cfs_quota_us", "-1\n");
                yield return ("cpu.cfs_burst_us", "0\n");
                yield return ("cpu.rt_period_us", "1000000\n");
                yield return ("cpu.rt_runtime_us", isRoot ? "950000\n" : "0\n");
                yield return ("cpu.idle", "0\n");
                yield return ("cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n");
                break;
            case "cpuacct":
                yield return ("cpuacct.usage", "0\n");
                yield return ("cpuacct.usage_percpu", "0 0 \n");
                yield return ("cpuacct.usage_user", "0\n");
                yield return ("cpuacct.usage_sys", "0\n");
                yield return ("cpuacct.stat", "user 0\nsystem 0\n");
                break;
            case "cpuset":
                yield return ("cpuset.cpus", isRoot ? "0-3\n" : "\n");
                yield return ("cpuset.mems", isRoot ? "0\n" : "\n");
                break;
            case "devices":
                yield return ("devices.allow", "");
                yield return ("devices.deny", "");
                yield return ("devices.list", "a *:* rwm\n");
                break;
            case "freezer":
                if (!isRoot) yield return ("freezer.state", "THAWED\n");
                break;
            case "blkio":
                yield return ("blkio.weight", "500\n");
                yield return ("blkio.leaf_weight", "500\n");
                yield return ("blkio.weight_device", "");
                yield return ("blkio.leaf_weight_device", "");
                foreach (string t in new[] { "read_bps_device", "write_bps_device", "read_iops_device", "write_iops_device" })
                    yield return ("blkio.throttle." + t, "");
                yield return ("blkio.throttle.io_service_bytes_recursive", "Total 0\n");
                yield return ("blkio.throttle.io_serviced_recursive", "Total 0\n");
                break;
            case "pids":
                if (!isRoot)
                {
                    yield return ("pids.max", "max\n");
                    yield return ("pids.current", "0\n");
                }
                break;
            case "hugetlb":
                yield return ("hugetlb.2MB.limit_in_bytes", V1Max + "\n");
                yield return ("hugetlb.2MB.usage_in_bytes", "0\n");
                yield return ("hugetlb.2MB.max_usage_in_bytes", "0\n");
                yield return ("hugetlb.2MB.failcnt", "0\n");
                break;
            case "net_cls":
                yield return ("net_cls.classid", "0\n");
                break;
            case "net_prio":
                yield return ("net_prio.ifpriomap", "lo 0\n");
                break;
        }
    }

    private static IEnumerable<(string, string)> V2Files(string controller, bool isRoot)
    {
        if (isRoot && controller != "cpuset") yield break; // the root has no limit files
        switch (controller)
        {
            case "memory":
                yield return ("memory.max", "max\n");
                yield return ("memory.low", "0\n");
                yield return ("memory.high", "max\n");
                yield return ("memory.swap.max", "max\n");
                yield return ("memory.swap.current", "0\n");
                yield return ("memory.current", "0\n");
                yield return ("memory.stat", "anon 0\nfile 0\n");
                yield return ("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
                break;
            case "cpu":
                yield return ("cpu.weight", "100\n");
                yield return ("cpu.max", "max 100000\n");
                yield return ("cpu.max.burst", "0\n");
                yield return ("cpu.idle", "0\n");
                break;
            case "cpuset":
                yield return ("cpuset.cpus", "\n");
                yield return ("cpuset.mems", "\n");
                break;
            case "io":
                yield return ("io.weight", "default 100\n");
                yield return ("io.max", "");
                yield return ("io.stat", "");
                break;
            case "hugetlb":
                yield return ("hugetlb.2MB.max", "max\n");
                yield return ("hugetlb.2MB.current", "0\n");
                yield return ("hugetlb.2MB.events", "max 0\n");
                break;
            case "pids":
                yield return ("pids.max", "max\n");
                yield return ("pids.current", "0\n");
                break;
        }
    }

    private static string NewRoot()
    {
        string root = Path.Combine(Path.GetTempPath(), "dune-cgfake-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        return root;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
