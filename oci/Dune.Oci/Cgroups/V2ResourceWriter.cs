using Dune.Oci.Spec;
using static Dune.Oci.Cgroups.CgroupConversions;

namespace Dune.Oci.Cgroups;

/// <summary>Writes linux.resources into a cgroup v2 directory; only what is set is written.</summary>
internal sealed class V2ResourceWriter
{
    private readonly string _dir;
    private readonly IDeviceFilter _deviceFilter;

    public V2ResourceWriter(string dir, IDeviceFilter deviceFilter)
    {
        _dir = dir;
        _deviceFilter = deviceFilter;
    }

    /// <summary>
    /// The controllers <paramref name="r"/> needs, so the parents can enable them: only for what
    /// Apply writes (a 0 means "not set", as docker and ctr send it and runc reads it).
    /// </summary>
    public static HashSet<string> NeededControllers(LinuxResources? r)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        if (r == null) return set;
        static bool Set(long? v) => v is not null and not 0;
        static bool SetU(ulong? v) => v is not null and not 0;
        var m = r.Memory;
        if (m != null && (Set(m.Limit) || Set(m.Reservation) || Set(m.Swap))) set.Add("memory");
        var c = r.Cpu;
        if (c != null && (SetU(c.Shares) || Set(c.Quota) || SetU(c.Period) || c.Burst != null || c.Idle != null)) set.Add("cpu");
        if (!string.IsNullOrEmpty(c?.Cpus) || !string.IsNullOrEmpty(c?.Mems)) set.Add("cpuset");
        if (r.Pids != null) set.Add("pids");
        var b = r.BlockIo;
        if (b != null && (b.Weight is not null and not 0 || b.WeightDevice is { Count: > 0 }
            || b.ThrottleReadBpsDevice is { Count: > 0 } || b.ThrottleWriteBpsDevice is { Count: > 0 }
            || b.ThrottleReadIopsDevice is { Count: > 0 } || b.ThrottleWriteIopsDevice is { Count: > 0 }))
            set.Add("io");
        if (r.HugepageLimits is { Count: > 0 }) set.Add("hugetlb");
        foreach (string key in r.Unified?.Keys ?? Enumerable.Empty<string>())
        {
            int dot = key.IndexOf('.');
            string prefix = dot > 0 ? key.Substring(0, dot) : key;
            if (prefix != "cgroup") set.Add(prefix);
        }
        return set;
    }

    public void Apply(LinuxResources r)
    {
        var devices = Validate(r);
        var m = r.Memory;
        if (m != null)
        {
            if (m.CheckBeforeUpdate == true) CheckMemoryUsage(m);
            // v2 has no kmem, swappiness or OOM-killer switch: those v1-only settings are ignored, as runc does.
            string? swapMax = SwapToV2(m.Limit, m.Swap);
            if (swapMax != null)
            {
                if (CgroupFs.Exists(_dir, "memory.swap.max")) CgroupFs.Write(_dir, "memory.swap.max", swapMax);
                else if (swapMax != "max")
                    throw new CgroupException($"linux.resources.memory.swap cannot be applied: {System.IO.Path.Combine(_dir, "memory.swap.max")} does not exist (swap accounting is disabled in this kernel)");
            }
            if (m.Limit is not null and not 0) CgroupFs.Write(_dir, "memory.max", MaxOrValue(m.Limit.Value));
            if (m.Reservation is not null and not 0) CgroupFs.Write(_dir, "memory.low", MaxOrValue(m.Reservation.Value));
        }
        var c = r.Cpu;
        if (c != null)
        {
            if (!string.IsNullOrEmpty(c.Cpus)) CgroupFs.Write(_dir, "cpuset.cpus", c.Cpus);
            if (!string.IsNullOrEmpty(c.Mems)) CgroupFs.Write(_dir, "cpuset.mems", c.Mems);
            if (c.Shares is not null and not 0) CgroupFs.Write(_dir, "cpu.weight", Num(SharesToWeight(c.Shares.Value)));
            if (c.Quota is not null and not 0 || c.Period is not null and not 0)
                CgroupFs.Write(_dir, "cpu.max", CpuMax(c.Quota, c.Period));
            if (c.Burst != null) CgroupFs.Write(_dir, "cpu.max.burst", Num(c.Burst.Value));
            if (c.Idle != null) CgroupFs.Write(_dir, "cpu.idle", Num(c.Idle.Value));
        }
        if (r.Pids != null) CgroupFs.Write(_dir, "pids.max", r.Pids.Limit <= 0 ? "max" : Num(r.Pids.Limit));
        if (r.BlockIo != null) ApplyIo(r.BlockIo);
        foreach (var h in r.HugepageLimits ?? new())
            CgroupFs.Write(_dir, $"hugetlb.{h.PageSize}.max", Num(h.Limit));
        // linux.resources.unified last: it is meant to override what the typed fields set.
        foreach (var (key, value) in r.Unified ?? new())
            CgroupFs.Write(_dir, key, value);
        // Devices after the files: a refused write leaves the device rules as they were.
        if (devices != null) _deviceFilter.Install(_dir, devices);
    }

    // linux.resources.memory.checkBeforeUpdate: a limit below what the cgroup already uses is
    // refused instead of OOM-killing the container (runc's words).
    private void CheckMemoryUsage(LinuxMemory m)
    {
        if (m.Limit is not > 0 && m.Swap is not > 0) return;
        if (!CgroupFs.Exists(_dir, "memory.current")) return;
        ulong usage = CgroupFs.ReadUInt(_dir, "memory.current");
        if (m.Swap is > 0 && CgroupFs.Exists(_dir, "memory.swap.current"))
        {
            ulong both = usage + CgroupFs.ReadUInt(_dir, "memory.swap.current");
            if (both >= (ulong)m.Swap.Value)
                throw new CgroupException($"rejecting memory+swap limit {m.Swap.Value} below current usage {both}");
        }
        if (m.Limit is > 0 && usage >= (ulong)m.Limit.Value)
            throw new CgroupException($"rejecting memory limit {m.Limit.Value} below current usage {usage}");
    }

    // cpu.max is "QUOTA PERIOD" in one file. A quota alone is written alone (the kernel keeps the
    // period); a period alone keeps the quota in force, as v1's separate files would.
    private string CpuMax(long? quota, ulong? period)
    {
        string q;
        if (quota is not null and not 0) q = quota > 0 ? Num(quota.Value) : "max";
        else q = (CgroupFs.TryRead(_dir, "cpu.max") ?? "max").Split(CgroupFs.Whitespace, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "max";
        return period is not null and not 0 ? q + " " + Num(period.Value) : q;
    }

    // Refuses what can be refused before any write; returns the device program to install, if the rules name one.
    private DeviceProgram? Validate(LinuxResources r)
    {
        foreach (string key in r.Unified?.Keys ?? Enumerable.Empty<string>())
            if (key.Length == 0 || key.Contains('/') || key.StartsWith('.'))
                throw new CgroupException($"linux.resources.unified: \"{key}\" is not a cgroup file name");
        var available = new HashSet<string>(
            (CgroupFs.TryRead(_dir, "cgroup.controllers") ?? "").Split(CgroupFs.Whitespace, StringSplitOptions.RemoveEmptyEntries),
            StringComparer.Ordinal);
        foreach (string needed in NeededControllers(r).Order(StringComparer.Ordinal))
            if (!available.Contains(needed))
                throw new CgroupException($"{What(needed)} needs the {needed} cgroup v2 controller, which is not enabled for {_dir} (missing from its cgroup.controllers)");
        var c = r.Cpu;
        if (c != null && (c.RealtimeRuntime is not null and not 0 || c.RealtimePeriod is not null and not 0))
            throw new CgroupException("linux.resources.cpu.realtimeRuntime/realtimePeriod are not supported on cgroup v2");
        foreach (var h in r.HugepageLimits ?? new())
            if (!IsHugepageSize(h.PageSize))
                throw new CgroupException($"linux.resources.hugepageLimits: invalid page size \"{h.PageSize}\" (expected e.g. 2MB, 1GB)");
        // cgroup v2 has no devices controller: the rules become an eBPF program (none when the list is empty).
        var devices = r.Devices is { Count: > 0 } ? DeviceProgram.Compile(r.Devices, RuntimeLog.Warn) : null;
        foreach (string key in r.Unified?.Keys ?? Enumerable.Empty<string>())
            if (!CgroupFs.Exists(_dir, key))
                throw new CgroupException($"linux.resources.unified: {System.IO.Path.Combine(_dir, key)} does not exist");
        return devices;
    }

    private static string What(string controller) => controller switch
    {
        "memory" => "linux.resources.memory",
        "cpu" => "linux.resources.cpu",
        "cpuset" => "linux.resources.cpu.cpus/mems",
        "pids" => "linux.resources.pids",
        "io" => "linux.resources.blockIO",
        "hugetlb" => "linux.resources.hugepageLimits",
        _ => "linux.resources.unified",
    };

    private void ApplyIo(LinuxBlockIo b)
    {
        // With BFQ the weight keeps blkio's 1..1000 scale in io.bfq.weight; otherwise io.weight takes 1..10000.
        bool bfq = CgroupFs.Exists(_dir, "io.bfq.weight");
        string weightFile = bfq ? "io.bfq.weight" : "io.weight";
        ulong Scale(ushort w) => bfq ? w : BlkioWeightToIoWeight(w);
        if (b.Weight is not null and not 0) CgroupFs.Write(_dir, weightFile, Num(Scale(b.Weight.Value)));
        // leafWeight has no v2 counterpart and is ignored, as runc does.
        foreach (var d in b.WeightDevice ?? new())
            if (d.Weight is not null and not 0)
                CgroupFs.Write(_dir, weightFile, $"{d.Major}:{d.Minor} {Num(Scale(d.Weight.Value))}");
        IoMax(b.ThrottleReadBpsDevice, "rbps");
        IoMax(b.ThrottleWriteBpsDevice, "wbps");
        IoMax(b.ThrottleReadIopsDevice, "riops");
        IoMax(b.ThrottleWriteIopsDevice, "wiops");
    }

    private void IoMax(List<LinuxThrottleDevice>? devices, string key)
    {
        // A v1 rate of 0 removes the limit; v2 says that with "max".
        foreach (var d in devices ?? new())
            CgroupFs.Write(_dir, "io.max", $"{d.Major}:{d.Minor} {key}={(d.Rate == 0 ? "max" : Num(d.Rate))}");
    }
}
