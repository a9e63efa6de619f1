using Dune.Oci.Spec;
using static Dune.Oci.Cgroups.CgroupConversions;

namespace Dune.Oci.Cgroups;

/// <summary>Writes linux.resources into cgroup v1 controller files; only what is set is written.</summary>
internal sealed class V1ResourceWriter
{
    private readonly Func<string, string?> _dirOf;
    private readonly Action<string>? _warn;

    /// <param name="dirOf">The container's directory in the hierarchy of a controller, null when the controller is not mounted.</param>
    /// <param name="warn">Receives warnings about tolerated oddities of the rules (none for a check that is repeated).</param>
    public V1ResourceWriter(Func<string, string?> dirOf, Action<string>? warn)
    {
        _dirOf = dirOf;
        _warn = warn;
    }

    public void Apply(LinuxResources r)
    {
        var devices = Validate(r);
        if (r.Cpu != null) ApplyCpuset(r.Cpu);
        if (r.Memory != null) ApplyMemory(r.Memory);
        if (r.Cpu != null) ApplyCpu(r.Cpu);
        if (r.Pids != null) CgroupFs.Write(Dir("pids"), "pids.max", r.Pids.Limit <= 0 ? "max" : Num(r.Pids.Limit));
        if (r.BlockIo != null) ApplyBlkio(r.BlockIo);
        if (r.HugepageLimits is { Count: > 0 })
            foreach (var h in r.HugepageLimits)
                CgroupFs.Write(Dir("hugetlb"), $"hugetlb.{h.PageSize}.limit_in_bytes", Num(h.Limit));
        if (devices != null) ApplyDevices(devices);
        if (r.Network != null) ApplyNetwork(r.Network);
    }

    // Everything that can be refused without touching a file is refused before the first write;
    // returns the effective device rules to write, if the resources name any.
    public EffectiveDeviceRules? Validate(LinuxResources r)
    {
        if (r.Unified is { Count: > 0 })
            // runc says "invalid configuration" here, and tools match those words.
            throw new CgroupException("invalid configuration: linux.resources.unified requires cgroup v2, but this host runs cgroup v1");
        var m = r.Memory;
        if (m != null && (m.Limit ?? m.Reservation ?? m.Swap ?? m.Kernel ?? m.KernelTcp) != null
            || m?.Swappiness != null || m?.DisableOomKiller != null)
            Require("memory", "linux.resources.memory");
        if (m?.Swappiness is > 100)
            throw new CgroupException($"linux.resources.memory.swappiness={m.Swappiness} is above 100");
        var c = r.Cpu;
        if (c != null && (c.Shares != null || c.Quota != null || c.Period != null || c.Burst != null
            || c.RealtimeRuntime != null || c.RealtimePeriod != null || c.Idle != null))
            Require("cpu", "linux.resources.cpu");
        if (!string.IsNullOrEmpty(c?.Cpus) || !string.IsNullOrEmpty(c?.Mems))
            Require("cpuset", "linux.resources.cpu.cpus/mems");
        if (r.Pids != null) Require("pids", "linux.resources.pids");
        var b = r.BlockIo;
        if (b != null && (b.Weight != null || b.LeafWeight != null || b.WeightDevice is { Count: > 0 }
            || b.ThrottleReadBpsDevice is { Count: > 0 } || b.ThrottleWriteBpsDevice is { Count: > 0 }
            || b.ThrottleReadIopsDevice is { Count: > 0 } || b.ThrottleWriteIopsDevice is { Count: > 0 }))
            Require("blkio", "linux.resources.blockIO");
        if (r.HugepageLimits is { Count: > 0 })
        {
            Require("hugetlb", "linux.resources.hugepageLimits");
            foreach (var h in r.HugepageLimits)
                if (!IsHugepageSize(h.PageSize))
                    throw new CgroupException($"linux.resources.hugepageLimits: invalid page size \"{h.PageSize}\" (expected e.g. 2MB, 1GB)");
        }
        if (r.Devices is not { Count: > 0 }) return null;
        Require("devices", "linux.resources.devices");
        return EffectiveDeviceRules.Replay(r.Devices, _warn);
    }

    private void Require(string controller, string what)
    {
        if (_dirOf(controller) == null)
            throw new CgroupException($"{what} needs the {controller} cgroup controller, which is not mounted");
    }

    private string Dir(string controller) =>
        _dirOf(controller) ?? throw new CgroupException($"the {controller} cgroup controller is not mounted");

    private void ApplyCpuset(LinuxCpu c)
    {
        if (!string.IsNullOrEmpty(c.Cpus)) CgroupFs.Write(Dir("cpuset"), "cpuset.cpus", c.Cpus);
        if (!string.IsNullOrEmpty(c.Mems)) CgroupFs.Write(Dir("cpuset"), "cpuset.mems", c.Mems);
    }

    private void ApplyMemory(LinuxMemory m)
    {
        bool any = (m.Limit ?? m.Reservation ?? m.Swap ?? m.Kernel ?? m.KernelTcp) != null
            || m.Swappiness != null || m.DisableOomKiller != null;
        if (!any) return;
        string dir = Dir("memory");
        bool hasMemsw = CgroupFs.Exists(dir, "memory.memsw.limit_in_bytes");
        long? limit = m.Limit;
        long? swap = m.Swap;
        // Lifting the memory limit without naming swap lifts memory+swap too, else the kernel refuses limit > memsw.
        if (limit == -1 && swap is null or 0 && hasMemsw) swap = -1;
        if (swap is not null and not 0 && !hasMemsw && swap != -1)
            throw new CgroupException($"linux.resources.memory.swap={swap} cannot be applied: {System.IO.Path.Combine(dir, "memory.memsw.limit_in_bytes")} does not exist (swap accounting is disabled in this kernel)");
        bool writeSwap = swap is not null and not 0 && hasMemsw;
        // The kernel keeps limit <= memsw at every step: when swap is lifted or rises above the current limit, memsw goes first.
        bool swapFirst = false;
        if (writeSwap && limit is not null and not 0)
        {
            ulong current = CgroupFs.ReadUInt(dir, "memory.limit_in_bytes");
            swapFirst = swap == -1 || current < (ulong)swap!.Value;
        }
        else if (writeSwap && limit is null or 0)
        {
            // Only memsw changes; it must stay >= the current limit, the kernel checks that itself.
            swapFirst = true;
        }
        if (swapFirst) CgroupFs.Write(dir, "memory.memsw.limit_in_bytes", Num(swap!.Value));
        if (limit is not null and not 0) CgroupFs.Write(dir, "memory.limit_in_bytes", Num(limit.Value));
        if (writeSwap && !swapFirst) CgroupFs.Write(dir, "memory.memsw.limit_in_bytes", Num(swap!.Value));

        if (m.Reservation is not null and not 0) CgroupFs.Write(dir, "memory.soft_limit_in_bytes", Num(m.Reservation.Value));
        // Kernel memory limits are gone from recent kernels: written only where the file still exists.
        if (m.Kernel is not null and not 0 && CgroupFs.Exists(dir, "memory.kmem.limit_in_bytes"))
            CgroupFs.Write(dir, "memory.kmem.limit_in_bytes", Num(m.Kernel.Value));
        if (m.KernelTcp is not null and not 0 && CgroupFs.Exists(dir, "memory.kmem.tcp.limit_in_bytes"))
            CgroupFs.Write(dir, "memory.kmem.tcp.limit_in_bytes", Num(m.KernelTcp.Value));
        if (m.Swappiness != null) CgroupFs.Write(dir, "memory.swappiness", Num(m.Swappiness.Value));
        if (m.DisableOomKiller != null) CgroupFs.Write(dir, "memory.oom_control", m.DisableOomKiller.Value ? "1" : "0");
    }

    private void ApplyCpu(LinuxCpu c)
    {
        if (c.Shares == null && c.Quota == null && c.Period == null && c.Burst == null
            && c.RealtimeRuntime == null && c.RealtimePeriod == null && c.Idle == null) return;
        string dir = Dir("cpu");
        if (c.Shares is not null and not 0) CgroupFs.Write(dir, "cpu.shares", Num(c.Shares.Value));
        // Period before quota: a quota is checked against the period in force. A shorter period
        // can be refused (EINVAL) while the old quota over it would exceed a parent's limit (a
        // "pod" cgroup with its own quota): then the quota goes first and the period after it, as runc does.
        bool periodPending = false;
        if (c.Period is not null and not 0)
        {
            try { CgroupFs.Write(dir, "cpu.cfs_period_us", Num(c.Period.Value)); }
            catch (CgroupException) when (c.Quota is not null and not 0) { periodPending = true; }
        }
        if (c.Quota is not null and not 0) CgroupFs.Write(dir, "cpu.cfs_quota_us", Num(c.Quota.Value));
        if (periodPending) CgroupFs.Write(dir, "cpu.cfs_period_us", Num(c.Period!.Value));
        if (c.Burst != null) CgroupFs.Write(dir, "cpu.cfs_burst_us", Num(c.Burst.Value));
        if (c.RealtimeRuntime != null || c.RealtimePeriod is not null and not 0)
        {
            // runtime <= period at every step: a shorter period than the current runtime needs the runtime first.
            bool runtimeFirst = false;
            if (c.RealtimePeriod is not null and not 0 && c.RealtimeRuntime != null)
            {
                string? current = CgroupFs.TryRead(dir, "cpu.rt_runtime_us")?.Trim();
                runtimeFirst = long.TryParse(current, out long cur) && cur > (long)c.RealtimePeriod.Value;
            }
            if (runtimeFirst && c.RealtimeRuntime != null) CgroupFs.Write(dir, "cpu.rt_runtime_us", Num(c.RealtimeRuntime.Value));
            if (c.RealtimePeriod is not null and not 0) CgroupFs.Write(dir, "cpu.rt_period_us", Num(c.RealtimePeriod.Value));
            if (!runtimeFirst && c.RealtimeRuntime != null) CgroupFs.Write(dir, "cpu.rt_runtime_us", Num(c.RealtimeRuntime.Value));
        }
        if (c.Idle != null) CgroupFs.Write(dir, "cpu.idle", Num(c.Idle.Value));
    }

    private void ApplyBlkio(LinuxBlockIo b)
    {
        string? dir = _dirOf("blkio");
        if (dir == null) return; // Validate refused every setting that needs it
        // A weight of 0 means "not set" (docker sends it so), as in runc.
        if (b.Weight is not null and not 0) CgroupFs.Write(dir, WeightFile(dir, "weight"), Num((ulong)b.Weight.Value));
        if (b.LeafWeight is not null and not 0) CgroupFs.Write(dir, "blkio.leaf_weight", Num((ulong)b.LeafWeight.Value));
        foreach (var d in b.WeightDevice ?? new())
        {
            if (d.Weight is not null and not 0) CgroupFs.Write(dir, WeightFile(dir, "weight_device"), $"{d.Major}:{d.Minor} {d.Weight}");
            if (d.LeafWeight is not null and not 0) CgroupFs.Write(dir, "blkio.leaf_weight_device", $"{d.Major}:{d.Minor} {d.LeafWeight}");
        }
        Throttle(dir, "blkio.throttle.read_bps_device", b.ThrottleReadBpsDevice);
        Throttle(dir, "blkio.throttle.write_bps_device", b.ThrottleWriteBpsDevice);
        Throttle(dir, "blkio.throttle.read_iops_device", b.ThrottleReadIopsDevice);
        Throttle(dir, "blkio.throttle.write_iops_device", b.ThrottleWriteIopsDevice);
    }

    // CFQ's blkio.weight is gone from kernels that only have BFQ, which names it blkio.bfq.weight.
    private static string WeightFile(string dir, string name) =>
        CgroupFs.Exists(dir, "blkio." + name) || !CgroupFs.Exists(dir, "blkio.bfq." + name) ? "blkio." + name : "blkio.bfq." + name;

    private static void Throttle(string dir, string file, List<LinuxThrottleDevice>? devices)
    {
        foreach (var d in devices ?? new())
            CgroupFs.Write(dir, file, $"{d.Major}:{d.Minor} {d.Rate}");
    }

    private void ApplyDevices(EffectiveDeviceRules rules)
    {
        string dir = Dir("devices");
        // The rules as the kernel would leave them after replaying the list, written as a transition
        // from what is in force now (create: the parent's rules; update: the container's).
        foreach (var (file, rule) in V1DeviceTransition.Writes(CgroupFs.Read(dir, "devices.list"), rules))
            CgroupFs.Write(dir, file, rule);
    }

    // net_cls/net_prio are optional: without them the settings are ignored, as runc does.
    private void ApplyNetwork(LinuxNetwork n)
    {
        string? cls = _dirOf("net_cls");
        if (n.ClassId != null && cls != null) CgroupFs.Write(cls, "net_cls.classid", Num((ulong)n.ClassId.Value));
        string? prio = _dirOf("net_prio");
        if (prio != null)
            foreach (var p in n.Priorities ?? new())
                CgroupFs.Write(prio, "net_prio.ifpriomap", $"{p.Name} {p.Priority}");
    }
}
