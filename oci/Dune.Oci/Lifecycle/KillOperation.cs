using Dune.Interop;
using Tmds.Linux;
using Dune.Oci.Cgroups;
using Dune.Oci.Interop;
using Dune.Oci.Linux;

namespace Dune.Oci.Lifecycle;

/// <summary>`kill`: a signal to the init, or with --all to every process of the container.</summary>
public static class KillOperation
{
    public static void Run(RuntimeContext ctx, string id, int signal, bool all)
    {
        using var _ = ctx.Store.Lock(id);
        var record = ctx.Store.Load(id);
        var status = ContainerStatus.Of(record, ctx.Store);
        // containerd recognises "container not running" as "process already finished".
        if (status == ContainerStatus.Stopped && !all)
            throw new RuntimeError($"container \"{id}\" is not running: container not running", LibC.ESRCH);
        if (!all)
        {
            if (LibC.kill(record.InitPid, signal) != 0)
                throw RuntimeError.OfErrno($"kill {id}: container not running", NativeException.LastErrno);
            return;
        }
        try
        {
            var cgroup = ContainerStatus.Cgroup(record);
            // cgroup.kill reaches every process, forking ones and those in sub-cgroups included; it only sends SIGKILL.
            if (signal == SignalNames.SIGKILL && cgroup.TryKillAll()) return;
            foreach (var pid in cgroup.GetPids()) LibC.kill(pid, signal);
        }
        catch (CgroupException e) { throw new RuntimeError($"kill --all {id}: {e.Message}"); }
    }
}
