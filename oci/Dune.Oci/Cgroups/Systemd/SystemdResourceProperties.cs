using System.Globalization;
using Dune.Oci.Spec;

namespace Dune.Oci.Cgroups.Systemd;

/// <summary>
/// The unit properties for the resources systemd owns, converted from linux.resources as runc
/// 1.1 converts them; the cgroup files are still written directly afterwards (by the cgroupfs
/// writers), so what systemd cannot express is not lost.
/// </summary>
internal static class SystemdResourceProperties
{
    /// <summary>The kernel's default CFS period, assumed when only a quota is given.</summary>
    public const ulong DefaultCpuPeriod = 100_000;

    /// <param name="v2">cgroup v2 (MemoryMax, CPUWeight...) or v1 (MemoryLimit, CPUShares...) property names.</param>
    /// <param name="systemdVersion">the manager's version: CPUQuotaPeriodUSec needs 242, AllowedCPUs/AllowedMemoryNodes 244.</param>
    public static List<SystemdProperty> Build(LinuxResources? r, bool v2, int systemdVersion, Func<string> procDevices, Action<string> warn)
    {
        var p = new List<SystemdProperty>();
        if (r is null) return p;
        p.AddRange(SystemdDeviceProperties.Build(r.Devices, procDevices, warn));

        var mem = r.Memory;
        if (mem?.Limit is long limit && limit != 0)
            p.Add(SystemdProperty.UInt64(v2 ? "MemoryMax" : "MemoryLimit", Limit(limit)));
        if (v2)
        {
            if (mem?.Reservation is long low && low != 0) p.Add(SystemdProperty.UInt64("MemoryLow", Limit(low)));
            if (CgroupConversions.SwapToV2(mem?.Limit, mem?.Swap) is string swap)
                p.Add(SystemdProperty.UInt64("MemorySwapMax", swap == "max" ? SystemdProperty.Infinity : ulong.Parse(swap, CultureInfo.InvariantCulture)));
        }

        var cpu = r.Cpu;
        if (cpu?.Shares is ulong shares && shares != 0)
            p.Add(v2 ? SystemdProperty.UInt64("CPUWeight", CgroupConversions.SharesToWeight(shares))
                     : SystemdProperty.UInt64("CPUShares", shares));
        AddCpuQuota(p, cpu?.Quota ?? 0, cpu?.Period ?? 0, systemdVersion);

        if (r.BlockIo?.Weight is ushort weight && weight != 0)
            p.Add(v2 ? SystemdProperty.UInt64("IOWeight", CgroupConversions.BlkioWeightToIoWeight(weight))
                     : SystemdProperty.UInt64("BlockIOWeight", weight));

        if (r.Pids?.Limit is long pids && pids != 0)
            p.Add(SystemdProperty.UInt64("TasksMax", Limit(pids)));

        if (systemdVersion >= 244)
        {
            if (!string.IsNullOrEmpty(cpu?.Cpus)) p.Add(SystemdProperty.Bits("AllowedCPUs", RangeToBits(cpu.Cpus, "linux.resources.cpu.cpus")));
            if (!string.IsNullOrEmpty(cpu?.Mems)) p.Add(SystemdProperty.Bits("AllowedMemoryNodes", RangeToBits(cpu.Mems, "linux.resources.cpu.mems")));
        }

        if (v2 && r.Unified is { Count: > 0 } unified) AddUnified(p, unified, systemdVersion);
        return p;
    }

    // Negative byte and task counts mean "no limit".
    private static ulong Limit(long value) => value < 0 ? SystemdProperty.Infinity : (ulong)value;

    /// <summary>
    /// CPUQuotaPerSecUSec is quota per second of CPU time; systemd keeps it as a whole percentage,
    /// so a fraction is rounded up to the next 10 ms (1%) to leave the container at least what it
    /// asked for. A period alone sets CPUQuotaPeriodUSec (systemd 242+) and leaves the quota unlimited.
    /// </summary>
    public static void AddCpuQuota(List<SystemdProperty> p, long quota, ulong period, int systemdVersion)
    {
        if (period != 0 && systemdVersion >= 242) p.Add(SystemdProperty.UInt64("CPUQuotaPeriodUSec", period));
        if (quota == 0 && period == 0) return;
        ulong perSec = SystemdProperty.Infinity;
        if (quota > 0)
        {
            ulong per = period == 0 ? DefaultCpuPeriod : period;
            perSec = (ulong)quota * 1_000_000UL / per;
            if (perSec % 10_000 != 0) perSec = (perSec / 10_000 + 1) * 10_000;
        }
        p.Add(SystemdProperty.UInt64("CPUQuotaPerSecUSec", perSec));
    }

    /// <summary>"0-2,7" as systemd's CPU/NUMA mask: bit n of byte n/8 set for each listed n.</summary>
    public static byte[] RangeToBits(string list, string what)
    {
        var bits = new List<int>();
        foreach (string part in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            string[] ends = part.Split('-');
            if (ends.Length > 2 || !int.TryParse(ends[0], NumberStyles.None, CultureInfo.InvariantCulture, out int from)
                || !int.TryParse(ends[^1], NumberStyles.None, CultureInfo.InvariantCulture, out int to) || to < from || to > 65535)
                throw new CgroupException($"{what}=\"{list}\": \"{part}\" is not a number or range");
            for (int i = from; i <= to; i++) bits.Add(i);
        }
        if (bits.Count == 0) throw new CgroupException($"{what}=\"{list}\" lists nothing");
        var mask = new byte[bits.Max() / 8 + 1];
        foreach (int b in bits) mask[b / 8] |= (byte)(1 << (b % 8));
        return mask;
    }

    // linux.resources.unified keys systemd has a property for; the rest only reach the files.
    private static void AddUnified(List<SystemdProperty> p, Dictionary<string, string> unified, int systemdVersion)
    {
        foreach (var (key, raw) in unified)
        {
            string v = raw.Trim();
            switch (key)
            {
                case "cpu.max":
                {
                    string[] f = v.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (f.Length is < 1 or > 2) throw Invalid(key, raw);
                    long quota = 0;
                    ulong period = DefaultCpuPeriod;
                    if (f[0] != "max" && !long.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out quota)) throw Invalid(key, raw);
                    if (f.Length == 2 && !ulong.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out period)) throw Invalid(key, raw);
                    AddCpuQuota(p, quota, period, systemdVersion);
                    break;
                }
                case "cpu.weight":
                    p.Add(SystemdProperty.UInt64("CPUWeight", Number(key, v)));
                    break;
                case "cpuset.cpus" when systemdVersion >= 244:
                    p.Add(SystemdProperty.Bits("AllowedCPUs", RangeToBits(v, "linux.resources.unified[\"cpuset.cpus\"]")));
                    break;
                case "cpuset.mems" when systemdVersion >= 244:
                    p.Add(SystemdProperty.Bits("AllowedMemoryNodes", RangeToBits(v, "linux.resources.unified[\"cpuset.mems\"]")));
                    break;
                case "memory.high": p.Add(SystemdProperty.UInt64("MemoryHigh", MaxOrNumber(key, v))); break;
                case "memory.low": p.Add(SystemdProperty.UInt64("MemoryLow", MaxOrNumber(key, v))); break;
                case "memory.min": p.Add(SystemdProperty.UInt64("MemoryMin", MaxOrNumber(key, v))); break;
                case "memory.max": p.Add(SystemdProperty.UInt64("MemoryMax", MaxOrNumber(key, v))); break;
                case "memory.swap.max": p.Add(SystemdProperty.UInt64("MemorySwapMax", MaxOrNumber(key, v))); break;
                case "pids.max": p.Add(SystemdProperty.UInt64("TasksMax", MaxOrNumber(key, v))); break;
            }
        }
    }

    private static ulong MaxOrNumber(string key, string v) => v == "max" ? SystemdProperty.Infinity : Number(key, v);

    private static ulong Number(string key, string v) =>
        ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out ulong n) ? n : throw Invalid(key, v);

    private static CgroupException Invalid(string key, string value) =>
        new($"linux.resources.unified[\"{key}\"]=\"{value}\" is not a valid value");
}
