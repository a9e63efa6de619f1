using System.CommandLine;
using Dune.Oci;
using Dune.Oci.Lifecycle;
using Dune.Oci.Spec;
using Dune.Oci.Validation;

namespace Dune.Cli.Commands;

/// <summary>`update`: new resource limits from --resources (file or - for stdin) and/or flags.</summary>
internal static class UpdateCommand
{
    public static Command Build()
    {
        var cmd = new Command("update", "update a container's resource limits");
        var id = CommonArguments.ContainerId();
        var resources = new Option<string?>("--resources", "-r") { Description = "JSON file of linux.resources (- for stdin)" };
        var memory = new Option<string?>("--memory") { Description = "memory limit in bytes (k, m, g suffixes)" };
        var memorySwap = new Option<string?>("--memory-swap") { Description = "memory + swap limit (-1 for unlimited)" };
        var memoryReservation = new Option<string?>("--memory-reservation") { Description = "memory soft limit" };
        var kernelMemory = new Option<string?>("--kernel-memory") { Description = "kernel memory limit (cgroup v1)" };
        var kernelMemoryTcp = new Option<string?>("--kernel-memory-tcp") { Description = "kernel TCP buffer limit (cgroup v1)" };
        var cpuShares = new Option<ulong?>("--cpu-share", "--cpu-shares") { Description = "CPU shares (relative weight)" };
        var cpuQuota = new Option<long?>("--cpu-quota") { Description = "CFS quota in microseconds" };
        var cpuPeriod = new Option<ulong?>("--cpu-period") { Description = "CFS period in microseconds" };
        var cpuRtRuntime = new Option<long?>("--cpu-rt-runtime") { Description = "realtime runtime in microseconds" };
        var cpuRtPeriod = new Option<ulong?>("--cpu-rt-period") { Description = "realtime period in microseconds" };
        var cpusetCpus = new Option<string?>("--cpuset-cpus") { Description = "CPUs to use (0-3, 0,1)" };
        var cpusetMems = new Option<string?>("--cpuset-mems") { Description = "memory nodes to use" };
        var pidsLimit = new Option<long?>("--pids-limit") { Description = "maximum number of processes" };
        var blkioWeight = new Option<ushort?>("--blkio-weight") { Description = "block IO weight (10-1000)" };
        var l3CacheSchema = new Option<string?>("--l3-cache-schema") { Description = "Intel RDT/CAT L3 cache schema (not supported by dune: it fails)" };
        var memBwSchema = new Option<string?>("--mem-bw-schema") { Description = "Intel RDT/MBA memory bandwidth schema (not supported by dune: it fails)" };
        cmd.Arguments.Add(id);
        foreach (var o in new Option[] { resources, memory, memorySwap, memoryReservation, kernelMemory, kernelMemoryTcp, cpuShares, cpuQuota, cpuPeriod,
                                         cpuRtRuntime, cpuRtPeriod, cpusetCpus, cpusetMems, pidsLimit, blkioWeight, l3CacheSchema, memBwSchema })
            cmd.Options.Add(o);
        cmd.SetAction(r => GlobalOptions.Invoke(r, ctx =>
        {
            var cid = r.GetValue(id)!;
            ContainerId.Validate(cid);
            foreach (var rdt in new[] { l3CacheSchema, memBwSchema })
                if (r.GetValue(rdt) is not null) throw new RuntimeError($"{rdt.Name}: Intel RDT (resctrl) is not supported by dune");
            var res = new LinuxResources();
            if (r.GetValue(resources) is { } file)
            {
                var bytes = file == "-" ? ReadStdin() : File.ReadAllBytes(file);
                res = SpecLoader.Parse(bytes, "resources", SpecJsonContext.Default.LinuxResources);
            }
            void Mem(Action<LinuxMemory> set) => set(res.Memory ??= new LinuxMemory());
            void Cpu(Action<LinuxCpu> set) => set(res.Cpu ??= new LinuxCpu());
            if (r.GetValue(memory) is { } m) Mem(x => x.Limit = ByteSize.Parse(m, "--memory"));
            if (r.GetValue(memorySwap) is { } ms) Mem(x => x.Swap = ByteSize.Parse(ms, "--memory-swap"));
            if (r.GetValue(memoryReservation) is { } mr) Mem(x => x.Reservation = ByteSize.Parse(mr, "--memory-reservation"));
            if (r.GetValue(kernelMemory) is { } km) Mem(x => x.Kernel = ByteSize.Parse(km, "--kernel-memory"));
            if (r.GetValue(kernelMemoryTcp) is { } kt) Mem(x => x.KernelTcp = ByteSize.Parse(kt, "--kernel-memory-tcp"));
            if (r.GetValue(cpuShares) is { } cs) Cpu(x => x.Shares = cs);
            if (r.GetValue(cpuQuota) is { } cq) Cpu(x => x.Quota = cq);
            if (r.GetValue(cpuPeriod) is { } cp) Cpu(x => x.Period = cp);
            if (r.GetValue(cpuRtRuntime) is { } rr) Cpu(x => x.RealtimeRuntime = rr);
            if (r.GetValue(cpuRtPeriod) is { } rp) Cpu(x => x.RealtimePeriod = rp);
            if (r.GetValue(cpusetCpus) is { } cc) Cpu(x => x.Cpus = cc);
            if (r.GetValue(cpusetMems) is { } cm) Cpu(x => x.Mems = cm);
            if (r.GetValue(pidsLimit) is { } pl) res.Pids = new LinuxPids { Limit = pl };
            if (r.GetValue(blkioWeight) is { } bw) (res.BlockIo ??= new LinuxBlockIo()).Weight = bw;
            UpdateOperation.Run(ctx, cid, res);
            return 0;
        }));
        return cmd;
    }

    private static byte[] ReadStdin()
    {
        using var stdin = Console.OpenStandardInput();
        using var ms = new MemoryStream();
        stdin.CopyTo(ms);
        return ms.ToArray();
    }
}
