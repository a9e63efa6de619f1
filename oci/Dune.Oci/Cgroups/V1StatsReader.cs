namespace Dune.Oci.Cgroups;

/// <summary>Reads runc-shaped statistics from cgroup v1 controller files; an unmounted controller leaves its part zero.</summary>
internal sealed class V1StatsReader
{
    // cpuacct.stat counts USER_HZ ticks, which Linux fixes at 100 per second for user space.
    private const ulong NanosPerTick = 10_000_000;

    private readonly Func<string, string?> _dirOf;

    public V1StatsReader(Func<string, string?> dirOf) => _dirOf = dirOf;

    public CgroupStats Read()
    {
        var s = new CgroupStats();
        if (_dirOf("cpuacct") is string acct) ReadCpuacct(acct, s.Cpu.Usage);
        if (_dirOf("cpu") is string cpu && CgroupFs.Exists(cpu, "cpu.stat"))
        {
            var st = CgroupFs.ReadKeyValues(cpu, "cpu.stat");
            s.Cpu.Throttling.Periods = st.GetValueOrDefault("nr_periods");
            s.Cpu.Throttling.ThrottledPeriods = st.GetValueOrDefault("nr_throttled");
            s.Cpu.Throttling.ThrottledTime = st.GetValueOrDefault("throttled_time");
        }
        if (_dirOf("memory") is string mem) ReadMemory(mem, s.Memory);
        if (_dirOf("pids") is string pids)
        {
            s.Pids.Current = CgroupFs.ReadUInt(pids, "pids.current");
            ulong max = CgroupFs.ReadUInt(pids, "pids.max");
            s.Pids.Limit = max == ulong.MaxValue ? 0 : max;
        }
        if (_dirOf("blkio") is string blkio) ReadBlkio(blkio, s.Blkio);
        if (_dirOf("hugetlb") is string huge) ReadHugetlb(huge, s.Hugetlb);
        return s;
    }

    private static void ReadCpuacct(string dir, CpuUsage usage)
    {
        usage.Total = CgroupFs.ReadUInt(dir, "cpuacct.usage");
        if (CgroupFs.TryRead(dir, "cpuacct.usage_percpu") is string percpu)
        {
            usage.PerCpu = new List<ulong>();
            foreach (string v in percpu.Split(CgroupFs.Whitespace, StringSplitOptions.RemoveEmptyEntries))
                usage.PerCpu.Add(CgroupFs.ParseUInt(v, System.IO.Path.Combine(dir, "cpuacct.usage_percpu")));
        }
        // usage_user/usage_sys are in nanoseconds (Linux 4.7+); cpuacct.stat only has ticks.
        if (CgroupFs.Exists(dir, "cpuacct.usage_user") && CgroupFs.Exists(dir, "cpuacct.usage_sys"))
        {
            usage.User = CgroupFs.ReadUInt(dir, "cpuacct.usage_user");
            usage.Kernel = CgroupFs.ReadUInt(dir, "cpuacct.usage_sys");
        }
        else if (CgroupFs.Exists(dir, "cpuacct.stat"))
        {
            var st = CgroupFs.ReadKeyValues(dir, "cpuacct.stat");
            usage.User = st.GetValueOrDefault("user") * NanosPerTick;
            usage.Kernel = st.GetValueOrDefault("system") * NanosPerTick;
        }
    }

    private static void ReadMemory(string dir, MemoryStats m)
    {
        m.Raw = CgroupFs.ReadKeyValues(dir, "memory.stat");
        m.Cache = m.Raw.GetValueOrDefault("cache");
        ReadEntry(dir, "memory", m.Usage);
        if (CgroupFs.Exists(dir, "memory.memsw.usage_in_bytes")) ReadEntry(dir, "memory.memsw", m.Swap);
        if (CgroupFs.Exists(dir, "memory.kmem.usage_in_bytes")) ReadEntry(dir, "memory.kmem", m.Kernel);
    }

    private static void ReadEntry(string dir, string prefix, MemoryEntry e)
    {
        e.Usage = CgroupFs.ReadUInt(dir, prefix + ".usage_in_bytes");
        e.Max = CgroupFs.ReadUInt(dir, prefix + ".max_usage_in_bytes");
        e.Limit = CgroupFs.ReadUInt(dir, prefix + ".limit_in_bytes");
        e.Failcnt = CgroupFs.ReadUInt(dir, prefix + ".failcnt");
    }

    private static void ReadBlkio(string dir, BlkioStats b)
    {
        // CFQ's files when present, else the throttle layer's, which every kernel keeps.
        string? bytes = FirstExisting(dir, "blkio.io_service_bytes_recursive", "blkio.throttle.io_service_bytes_recursive");
        string? ios = FirstExisting(dir, "blkio.io_serviced_recursive", "blkio.throttle.io_serviced_recursive");
        if (bytes != null) b.IoServiceBytesRecursive = ParseBlkio(dir, bytes);
        if (ios != null) b.IoServicedRecursive = ParseBlkio(dir, ios);
    }

    private static string? FirstExisting(string dir, params string[] files)
    {
        foreach (string f in files)
            if (CgroupFs.Exists(dir, f)) return f;
        return null;
    }

    // "8:0 Read 4096" per line; the trailing "Total N" line is dropped.
    private static List<BlkioEntry> ParseBlkio(string dir, string file)
    {
        var list = new List<BlkioEntry>();
        string where = System.IO.Path.Combine(dir, file);
        foreach (string line in CgroupFs.Read(dir, file).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 3) continue;
            string[] dev = f[0].Split(':');
            if (dev.Length != 2) continue;
            list.Add(new BlkioEntry
            {
                Major = CgroupFs.ParseUInt(dev[0], where),
                Minor = CgroupFs.ParseUInt(dev[1], where),
                Op = f[1],
                Value = CgroupFs.ParseUInt(f[2], where),
            });
        }
        return list;
    }

    private static void ReadHugetlb(string dir, Dictionary<string, HugetlbStats> into)
    {
        const string suffix = ".limit_in_bytes";
        foreach (string path in Directory.GetFiles(dir, "hugetlb.*" + suffix))
        {
            string name = System.IO.Path.GetFileName(path);
            string size = name.Substring("hugetlb.".Length, name.Length - "hugetlb.".Length - suffix.Length);
            if (size.Contains('.')) continue; // hugetlb.<size>.rsvd.limit_in_bytes
            into[size] = new HugetlbStats
            {
                Usage = CgroupFs.ReadUInt(dir, $"hugetlb.{size}.usage_in_bytes"),
                Max = CgroupFs.ReadUInt(dir, $"hugetlb.{size}.max_usage_in_bytes"),
                Failcnt = CgroupFs.ReadUInt(dir, $"hugetlb.{size}.failcnt"),
            };
        }
    }
}
