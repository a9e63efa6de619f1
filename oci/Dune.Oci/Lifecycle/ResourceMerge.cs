using Dune.Oci.Spec;

namespace Dune.Oci.Lifecycle;

/// <summary>Overlays the set fields of an update on the container's resources.</summary>
public static class ResourceMerge
{
    public static LinuxResources Merge(LinuxResources? current, LinuxResources update)
    {
        var r = current ?? new LinuxResources();
        if (update.Memory is { } m)
        {
            r.Memory ??= new LinuxMemory();
            r.Memory.Limit = m.Limit ?? r.Memory.Limit;
            r.Memory.Reservation = m.Reservation ?? r.Memory.Reservation;
            r.Memory.Swap = m.Swap ?? r.Memory.Swap;
            r.Memory.Kernel = m.Kernel ?? r.Memory.Kernel;
            r.Memory.KernelTcp = m.KernelTcp ?? r.Memory.KernelTcp;
            r.Memory.Swappiness = m.Swappiness ?? r.Memory.Swappiness;
            r.Memory.DisableOomKiller = m.DisableOomKiller ?? r.Memory.DisableOomKiller;
        }
        if (update.Cpu is { } c)
        {
            r.Cpu ??= new LinuxCpu();
            r.Cpu.Shares = c.Shares ?? r.Cpu.Shares;
            r.Cpu.Quota = c.Quota ?? r.Cpu.Quota;
            r.Cpu.Period = c.Period ?? r.Cpu.Period;
            r.Cpu.Burst = c.Burst ?? r.Cpu.Burst;
            r.Cpu.RealtimeRuntime = c.RealtimeRuntime ?? r.Cpu.RealtimeRuntime;
            r.Cpu.RealtimePeriod = c.RealtimePeriod ?? r.Cpu.RealtimePeriod;
            r.Cpu.Cpus = c.Cpus ?? r.Cpu.Cpus;
            r.Cpu.Mems = c.Mems ?? r.Cpu.Mems;
            r.Cpu.Idle = c.Idle ?? r.Cpu.Idle;
        }
        if (update.Pids is { } p) r.Pids = p;
        if (update.BlockIo is { } b) r.BlockIo = b;
        if (update.HugepageLimits is { } h) r.HugepageLimits = h;
        if (update.Unified is { } u)
        {
            r.Unified ??= new Dictionary<string, string>();
            foreach (var (k, v) in u) r.Unified[k] = v;
        }
        if (update.Devices is { } d) r.Devices = d;
        if (update.Network is { } n) r.Network = n;
        return r;
    }
}
