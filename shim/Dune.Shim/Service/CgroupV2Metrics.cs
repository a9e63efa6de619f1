using System.Globalization;
using Dune.Shim.Api.CgroupsV2;

namespace Dune.Shim.Service;

/// <summary>
/// The cgroup v2 Metrics message containerd expects from a shim on a cgroup v2 host, read
/// straight from the container's cgroup2 directory as containerd's own cgroup2 manager does:
/// a controller that is not enabled leaves its part out (or zero), "max" reads as the largest
/// uint64.
/// </summary>
internal static class CgroupV2Metrics
{
    public const string TypeUrl = "io.containerd.cgroups.v2.Metrics";

    public static Metrics FromDirectory(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"cgroup {dir} does not exist");
        var m = new Metrics();
        if (Read(dir, "pids.current") is not null)
            m.Pids = new PidsStat { Current = Single(dir, "pids.current"), Limit = Single(dir, "pids.max") };
        if (KeyValues(dir, "cpu.stat") is { } cpu)
            m.Cpu = new CPUStat
            {
                UsageUsec = cpu.GetValueOrDefault("usage_usec"),
                UserUsec = cpu.GetValueOrDefault("user_usec"),
                SystemUsec = cpu.GetValueOrDefault("system_usec"),
                NrPeriods = cpu.GetValueOrDefault("nr_periods"),
                NrThrottled = cpu.GetValueOrDefault("nr_throttled"),
                ThrottledUsec = cpu.GetValueOrDefault("throttled_usec"),
            };
        if (KeyValues(dir, "memory.stat") is { } mem) m.Memory = Memory(dir, mem);
        if (KeyValues(dir, "memory.events") is { } ev)
            m.MemoryEvents = new MemoryEvents
            {
                Low = ev.GetValueOrDefault("low"),
                High = ev.GetValueOrDefault("high"),
                Max = ev.GetValueOrDefault("max"),
                Oom = ev.GetValueOrDefault("oom"),
                OomKill = ev.GetValueOrDefault("oom_kill"),
            };
        if (Read(dir, "io.stat") is { } io) m.Io = Io(io);
        if (Read(dir, "rdma.current") is { } rdmaCurrent)
        {
            m.Rdma = new RdmaStat();
            m.Rdma.Current.AddRange(Rdma(rdmaCurrent));
            if (Read(dir, "rdma.max") is { } rdmaMax) m.Rdma.Limit.AddRange(Rdma(rdmaMax));
        }
        m.Hugetlb.AddRange(Hugetlb(dir));
        return m;
    }

    private static MemoryStat Memory(string dir, Dictionary<string, ulong> s)
    {
        var m = new MemoryStat
        {
            Anon = s.GetValueOrDefault("anon"),
            File = s.GetValueOrDefault("file"),
            KernelStack = s.GetValueOrDefault("kernel_stack"),
            Slab = s.GetValueOrDefault("slab"),
            Sock = s.GetValueOrDefault("sock"),
            Shmem = s.GetValueOrDefault("shmem"),
            FileMapped = s.GetValueOrDefault("file_mapped"),
            FileDirty = s.GetValueOrDefault("file_dirty"),
            FileWriteback = s.GetValueOrDefault("file_writeback"),
            AnonThp = s.GetValueOrDefault("anon_thp"),
            InactiveAnon = s.GetValueOrDefault("inactive_anon"),
            ActiveAnon = s.GetValueOrDefault("active_anon"),
            InactiveFile = s.GetValueOrDefault("inactive_file"),
            ActiveFile = s.GetValueOrDefault("active_file"),
            Unevictable = s.GetValueOrDefault("unevictable"),
            SlabReclaimable = s.GetValueOrDefault("slab_reclaimable"),
            SlabUnreclaimable = s.GetValueOrDefault("slab_unreclaimable"),
            Pgfault = s.GetValueOrDefault("pgfault"),
            Pgmajfault = s.GetValueOrDefault("pgmajfault"),
            // Linux 5.9 split the refault/activate counters into _anon and _file.
            WorkingsetRefault = Either(s, "workingset_refault", "workingset_refault_anon", "workingset_refault_file"),
            WorkingsetActivate = Either(s, "workingset_activate", "workingset_activate_anon", "workingset_activate_file"),
            WorkingsetNodereclaim = s.GetValueOrDefault("workingset_nodereclaim"),
            Pgrefill = s.GetValueOrDefault("pgrefill"),
            Pgscan = s.GetValueOrDefault("pgscan"),
            Pgsteal = s.GetValueOrDefault("pgsteal"),
            Pgactivate = s.GetValueOrDefault("pgactivate"),
            Pgdeactivate = s.GetValueOrDefault("pgdeactivate"),
            Pglazyfree = s.GetValueOrDefault("pglazyfree"),
            Pglazyfreed = s.GetValueOrDefault("pglazyfreed"),
            ThpFaultAlloc = s.GetValueOrDefault("thp_fault_alloc"),
            ThpCollapseAlloc = s.GetValueOrDefault("thp_collapse_alloc"),
            Usage = Single(dir, "memory.current"),
            UsageLimit = Single(dir, "memory.max"),
            SwapUsage = Single(dir, "memory.swap.current"),
            SwapLimit = Single(dir, "memory.swap.max"),
            MaxUsage = Single(dir, "memory.peak"),
            SwapMaxUsage = Single(dir, "memory.swap.peak"),
        };
        return m;
    }

    private static ulong Either(Dictionary<string, ulong> s, string whole, string part1, string part2) =>
        s.TryGetValue(whole, out ulong v) ? v : s.GetValueOrDefault(part1) + s.GetValueOrDefault(part2);

    // "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device.
    private static IOStat Io(string text)
    {
        var io = new IOStat();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string[] dev = f[0].Split(':');
            if (dev.Length != 2 || !ulong.TryParse(dev[0], CultureInfo.InvariantCulture, out ulong major)
                || !ulong.TryParse(dev[1], CultureInfo.InvariantCulture, out ulong minor)) continue;
            var e = new IOEntry { Major = major, Minor = minor };
            foreach (string kv in f.Skip(1))
            {
                int eq = kv.IndexOf('=');
                if (eq < 0) continue;
                ulong value = Parse(kv.Substring(eq + 1));
                switch (kv.Substring(0, eq))
                {
                    case "rbytes": e.Rbytes = value; break;
                    case "wbytes": e.Wbytes = value; break;
                    case "rios": e.Rios = value; break;
                    case "wios": e.Wios = value; break;
                }
            }
            io.Usage.Add(e);
        }
        return io;
    }

    // "mlx4_0 hca_handle=2 hca_object=2000" per device; "max" saturates.
    private static IEnumerable<RdmaEntry> Rdma(string text)
    {
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var e = new RdmaEntry { Device = f[0] };
            foreach (string kv in f.Skip(1))
            {
                int eq = kv.IndexOf('=');
                if (eq < 0) continue;
                uint value = (uint)Math.Min(Parse(kv.Substring(eq + 1)), uint.MaxValue);
                if (kv.StartsWith("hca_handle=", StringComparison.Ordinal)) e.HcaHandles = value;
                else if (kv.StartsWith("hca_object=", StringComparison.Ordinal)) e.HcaObjects = value;
            }
            yield return e;
        }
    }

    private static IEnumerable<HugeTlbStat> Hugetlb(string dir)
    {
        const string suffix = ".current";
        foreach (string path in Directory.GetFiles(dir, "hugetlb.*" + suffix).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(path);
            string size = name.Substring("hugetlb.".Length, name.Length - "hugetlb.".Length - suffix.Length);
            if (size.Contains('.')) continue; // hugetlb.<size>.rsvd.current
            yield return new HugeTlbStat { Pagesize = size, Current = Single(dir, name), Max = Single(dir, $"hugetlb.{size}.max") };
        }
    }

    private static string? Read(string dir, string file)
    {
        try { return File.ReadAllText(Path.Combine(dir, file)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    // A one-value file; missing (controller not enabled) reads as 0.
    private static ulong Single(string dir, string file) => Read(dir, file) is { } text ? Parse(text.Trim()) : 0;

    private static Dictionary<string, ulong>? KeyValues(string dir, string file)
    {
        if (Read(dir, file) is not { } text) return null;
        var result = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2) result[parts[0]] = Parse(parts[1]);
        }
        return result;
    }

    private static ulong Parse(string text) =>
        text == "max" ? ulong.MaxValue : ulong.TryParse(text, CultureInfo.InvariantCulture, out ulong v) ? v : 0;
}
