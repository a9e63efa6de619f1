namespace Dune.Oci.Cgroups;

/// <summary>Reads runc-shaped statistics from a cgroup v2 directory; a controller that is not enabled leaves its part zero.</summary>
internal sealed class V2StatsReader
{
    private readonly string _dir;

    public V2StatsReader(string dir) => _dir = dir;

    public CgroupStats Read()
    {
        var s = new CgroupStats();
        // cpu.stat's usage lines exist even without the cpu controller; throttling needs it.
        if (CgroupFs.Exists(_dir, "cpu.stat"))
        {
            var st = CgroupFs.ReadKeyValues(_dir, "cpu.stat");
            s.Cpu.Usage.Total = st.GetValueOrDefault("usage_usec") * 1000;
            s.Cpu.Usage.User = st.GetValueOrDefault("user_usec") * 1000;
            s.Cpu.Usage.Kernel = st.GetValueOrDefault("system_usec") * 1000;
            s.Cpu.Throttling.Periods = st.GetValueOrDefault("nr_periods");
            s.Cpu.Throttling.ThrottledPeriods = st.GetValueOrDefault("nr_throttled");
            s.Cpu.Throttling.ThrottledTime = st.GetValueOrDefault("throttled_usec") * 1000;
        }
        if (CgroupFs.Exists(_dir, "memory.current")) ReadMemory(s.Memory);
        if (CgroupFs.Exists(_dir, "pids.current"))
        {
            s.Pids.Current = CgroupFs.ReadUInt(_dir, "pids.current");
            ulong max = CgroupFs.ReadUInt(_dir, "pids.max");
            s.Pids.Limit = max == ulong.MaxValue ? 0 : max;
        }
        if (CgroupFs.Exists(_dir, "io.stat")) ReadIo(s.Blkio);
        ReadHugetlb(s.Hugetlb);
        return s;
    }

    private void ReadMemory(MemoryStats m)
    {
        m.Raw = CgroupFs.ReadKeyValues(_dir, "memory.stat");
        m.Cache = m.Raw.GetValueOrDefault("file");
        m.Usage.Usage = CgroupFs.ReadUInt(_dir, "memory.current");
        m.Usage.Limit = CgroupFs.ReadUInt(_dir, "memory.max");
        if (CgroupFs.Exists(_dir, "memory.peak")) m.Usage.Max = CgroupFs.ReadUInt(_dir, "memory.peak");
        // v2 has no failcnt; the closest is how often usage hit memory.max.
        if (CgroupFs.Exists(_dir, "memory.events"))
            m.Usage.Failcnt = CgroupFs.ReadKeyValues(_dir, "memory.events").GetValueOrDefault("max");
        if (CgroupFs.Exists(_dir, "memory.swap.current"))
        {
            m.Swap.Usage = CgroupFs.ReadUInt(_dir, "memory.swap.current");
            m.Swap.Limit = CgroupFs.ReadUInt(_dir, "memory.swap.max");
            if (CgroupFs.Exists(_dir, "memory.swap.peak")) m.Swap.Max = CgroupFs.ReadUInt(_dir, "memory.swap.peak");
            if (CgroupFs.Exists(_dir, "memory.swap.events"))
                m.Swap.Failcnt = CgroupFs.ReadKeyValues(_dir, "memory.swap.events").GetValueOrDefault("max");
        }
        // Kernel memory is not limited separately on v2; its usage is memory.stat's kernel (or slab+stack) share.
        m.Kernel.Usage = m.Raw.TryGetValue("kernel", out ulong k) ? k
            : m.Raw.GetValueOrDefault("slab") + m.Raw.GetValueOrDefault("kernel_stack");
    }

    // "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device.
    private void ReadIo(BlkioStats b)
    {
        b.IoServiceBytesRecursive = new List<BlkioEntry>();
        b.IoServicedRecursive = new List<BlkioEntry>();
        string where = System.IO.Path.Combine(_dir, "io.stat");
        foreach (string line in CgroupFs.Read(_dir, "io.stat").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string[] dev = f[0].Split(':');
            if (dev.Length != 2) continue;
            ulong major = CgroupFs.ParseUInt(dev[0], where), minor = CgroupFs.ParseUInt(dev[1], where);
            foreach (string kv in f.Skip(1))
            {
                int eq = kv.IndexOf('=');
                if (eq < 0) continue;
                string key = kv.Substring(0, eq);
                ulong value = CgroupFs.ParseUInt(kv.Substring(eq + 1), where);
                var (list, op) = key switch
                {
                    "rbytes" => (b.IoServiceBytesRecursive, "Read"),
                    "wbytes" => (b.IoServiceBytesRecursive, "Write"),
                    "rios" => (b.IoServicedRecursive, "Read"),
                    "wios" => (b.IoServicedRecursive, "Write"),
                    _ => (null, ""),
                };
                list?.Add(new BlkioEntry { Major = major, Minor = minor, Op = op, Value = value });
            }
        }
    }

    private void ReadHugetlb(Dictionary<string, HugetlbStats> into)
    {
        const string suffix = ".current";
        foreach (string path in Directory.GetFiles(_dir, "hugetlb.*" + suffix))
        {
            string name = System.IO.Path.GetFileName(path);
            string size = name.Substring("hugetlb.".Length, name.Length - "hugetlb.".Length - suffix.Length);
            if (size.Contains('.')) continue; // hugetlb.<size>.rsvd.current
            var stats = new HugetlbStats { Usage = CgroupFs.ReadUInt(_dir, name) };
            if (CgroupFs.Exists(_dir, $"hugetlb.{size}.events"))
                stats.Failcnt = CgroupFs.ReadKeyValues(_dir, $"hugetlb.{size}.events").GetValueOrDefault("max");
            into[size] = stats;
        }
    }
}
