using System.Text.Json;
using Dune.Shim.Api.CgroupsV1;

namespace Dune.Shim.Service;

/// <summary>
/// Turns the stats event `dune events --stats` prints (runc's JSON layout) into the cgroup
/// v1 Metrics message that containerd and `ctr task metrics` expect from a shim.
/// </summary>
internal static class CgroupV1Metrics
{
    public const string TypeUrl = "io.containerd.cgroups.v1.Metrics";

    public static Metrics FromStatsEvent(string json)
    {
        using var doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty("data", out var data))
            throw new FormatException("stats event without data");
        var m = new Metrics();
        if (data.TryGetProperty("pids", out var pids))
            m.Pids = new PidsStat { Current = U(pids, "current"), Limit = U(pids, "limit") };
        if (data.TryGetProperty("cpu", out var cpu))
        {
            m.Cpu = new CPUStat();
            if (cpu.TryGetProperty("usage", out var usage))
            {
                m.Cpu.Usage = new CPUUsage { Total = U(usage, "total"), Kernel = U(usage, "kernel"), User = U(usage, "user") };
                if (usage.TryGetProperty("percpu", out var per) && per.ValueKind == JsonValueKind.Array)
                    foreach (var v in per.EnumerateArray()) m.Cpu.Usage.PerCpu.Add(Number(v));
            }
            if (cpu.TryGetProperty("throttling", out var t))
                m.Cpu.Throttling = new Throttle { Periods = U(t, "periods"), ThrottledPeriods = U(t, "throttledPeriods"), ThrottledTime = U(t, "throttledTime") };
        }
        if (data.TryGetProperty("memory", out var mem)) m.Memory = Memory(mem);
        if (data.TryGetProperty("blkio", out var blkio))
        {
            m.Blkio = new BlkIOStat();
            m.Blkio.IoServiceBytesRecursive.AddRange(Entries(blkio, "ioServiceBytesRecursive"));
            m.Blkio.IoServicedRecursive.AddRange(Entries(blkio, "ioServicedRecursive"));
            m.Blkio.IoQueuedRecursive.AddRange(Entries(blkio, "ioQueueRecursive"));
            m.Blkio.IoServiceTimeRecursive.AddRange(Entries(blkio, "ioServiceTimeRecursive"));
            m.Blkio.IoWaitTimeRecursive.AddRange(Entries(blkio, "ioWaitTimeRecursive"));
            m.Blkio.IoMergedRecursive.AddRange(Entries(blkio, "ioMergedRecursive"));
            m.Blkio.IoTimeRecursive.AddRange(Entries(blkio, "ioTimeRecursive"));
            m.Blkio.SectorsRecursive.AddRange(Entries(blkio, "sectorsRecursive"));
        }
        if (data.TryGetProperty("hugetlb", out var huge) && huge.ValueKind == JsonValueKind.Object)
            foreach (var page in huge.EnumerateObject())
                m.Hugetlb.Add(new HugetlbStat { Pagesize = page.Name, Usage = U(page.Value, "usage"), Max = U(page.Value, "max"), Failcnt = U(page.Value, "failcnt") });
        return m;
    }

    private static MemoryStat Memory(JsonElement mem)
    {
        var s = new MemoryStat
        {
            Usage = Entry(mem, "usage"),
            Swap = Entry(mem, "swap"),
            Kernel = Entry(mem, "kernel"),
            KernelTcp = Entry(mem, "kernelTCP"),
        };
        if (!mem.TryGetProperty("raw", out var raw)) return s;
        s.Cache = U(raw, "cache");
        s.Rss = U(raw, "rss");
        s.RssHuge = U(raw, "rss_huge");
        s.MappedFile = U(raw, "mapped_file");
        s.Dirty = U(raw, "dirty");
        s.Writeback = U(raw, "writeback");
        s.PgPgIn = U(raw, "pgpgin");
        s.PgPgOut = U(raw, "pgpgout");
        s.PgFault = U(raw, "pgfault");
        s.PgMajFault = U(raw, "pgmajfault");
        s.InactiveAnon = U(raw, "inactive_anon");
        s.ActiveAnon = U(raw, "active_anon");
        s.InactiveFile = U(raw, "inactive_file");
        s.ActiveFile = U(raw, "active_file");
        s.Unevictable = U(raw, "unevictable");
        s.HierarchicalMemoryLimit = U(raw, "hierarchical_memory_limit");
        s.HierarchicalSwapLimit = U(raw, "hierarchical_memsw_limit");
        s.TotalCache = U(raw, "total_cache");
        s.TotalRss = U(raw, "total_rss");
        s.TotalRssHuge = U(raw, "total_rss_huge");
        s.TotalMappedFile = U(raw, "total_mapped_file");
        s.TotalDirty = U(raw, "total_dirty");
        s.TotalWriteback = U(raw, "total_writeback");
        s.TotalPgPgIn = U(raw, "total_pgpgin");
        s.TotalPgPgOut = U(raw, "total_pgpgout");
        s.TotalPgFault = U(raw, "total_pgfault");
        s.TotalPgMajFault = U(raw, "total_pgmajfault");
        s.TotalInactiveAnon = U(raw, "total_inactive_anon");
        s.TotalActiveAnon = U(raw, "total_active_anon");
        s.TotalInactiveFile = U(raw, "total_inactive_file");
        s.TotalActiveFile = U(raw, "total_active_file");
        s.TotalUnevictable = U(raw, "total_unevictable");
        return s;
    }

    private static MemoryEntry? Entry(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.Object
            ? new MemoryEntry { Limit = U(e, "limit"), Usage = U(e, "usage"), Max = U(e, "max"), Failcnt = U(e, "failcnt") }
            : null;

    private static IEnumerable<BlkIOEntry> Entries(JsonElement blkio, string name)
    {
        if (!blkio.TryGetProperty(name, out var list) || list.ValueKind != JsonValueKind.Array) yield break;
        foreach (var e in list.EnumerateArray())
            yield return new BlkIOEntry
            {
                Op = e.TryGetProperty("op", out var op) ? op.GetString() ?? "" : "",
                Major = U(e, "major"),
                Minor = U(e, "minor"),
                Value = U(e, "value"),
            };
    }

    private static ulong U(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var v) ? Number(v) : 0;

    /// <summary>A counter; huge limits printed as doubles (9.2e18) saturate instead of failing.</summary>
    private static ulong Number(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Number) return 0;
        if (v.TryGetUInt64(out var u)) return u;
        if (v.TryGetDouble(out var d)) return d <= 0 ? 0 : d >= ulong.MaxValue ? ulong.MaxValue : (ulong)d;
        return 0;
    }
}
