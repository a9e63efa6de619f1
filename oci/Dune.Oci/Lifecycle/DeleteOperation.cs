using Dune.Interop;
using Tmds.Linux;
using Dune.Oci.Cgroups;
using Dune.Oci.Interop;
using Dune.Oci.Linux;
using Dune.Oci.Spec;
using Dune.Oci.State;

namespace Dune.Oci.Lifecycle;

/// <summary>
/// `delete`: removes a stopped (or created) container; with --force also a running or paused
/// one, after killing every process in its cgroup. Leaves no cgroup, state dir or process.
/// </summary>
public static class DeleteOperation
{
    public static void Run(RuntimeContext ctx, string id, bool force)
    {
        var store = ctx.Store;
        ContainerLock l;
        try { l = store.Lock(id); }
        catch (RuntimeError) when (force)
        {
            // A create that died before writing state.json leaves only its directory.
            store.Remove(id);
            return;
        }
        using (l)
        {
            var record = store.Load(id);
            var status = ContainerStatus.Of(record, store);
            if (!force && status is ContainerStatus.Running or ContainerStatus.Paused)
                throw new RuntimeError($"cannot delete container \"{id}\": it is {status} (stop it first or use --force)");
            ICgroupManager? cgroup = null;
            try { cgroup = ContainerStatus.Cgroup(record); }
            catch (CgroupException e) { RuntimeLog.Warn($"delete {id}: {e.Message}"); }
            KillAll(record, cgroup, status);
            if (cgroup is not null)
            {
                try { cgroup.Destroy(); }
                catch (CgroupException e) { throw new RuntimeError($"delete {id}: {e.Message}"); }
            }
            if (record.Config.Linux?.Namespaces?.Any(n => n.Type == "mount") != true && !string.IsNullOrEmpty(record.Rootfs))
                HostMountCleanup.Run(record.Rootfs);
            var state = ContainerStatus.StateJson(CreateOperation.HookState(record, ContainerStatus.Stopped));
            store.Remove(id);
            foreach (var f in HookRunner.RunAll(HookKinds.Poststop, HookKinds.Of(record.Config.Hooks, HookKinds.Poststop), state))
                RuntimeLog.Warn(f);
        }
    }

    private static void KillAll(ContainerRecord record, ICgroupManager? cgroup, string status)
    {
        if (ProcStat.IsAlive(record.InitPid, record.InitStartTime)) LibC.kill(record.InitPid, SignalNames.SIGKILL);
        if (cgroup is null) { WaitGone(record.InitPid, record.InitStartTime); return; }
        // One write kills frozen and forking processes too (cgroup2 cgroup.kill); the loop below then only waits.
        try { cgroup.TryKillAll(); } catch (CgroupException e) { RuntimeLog.Warn($"delete {record.Id}: {e.Message}"); }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            IReadOnlyList<int> pids;
            try
            {
                pids = cgroup.GetPids();
            }
            catch (CgroupException) { pids = Array.Empty<int>(); }
            // A frozen process cannot die: thaw after signalling (SIGKILL is queued).
            foreach (var pid in pids) LibC.kill(pid, SignalNames.SIGKILL);
            if (status == ContainerStatus.Paused)
            {
                try { cgroup.Thaw(); } catch (CgroupException) { }
            }
            bool anyAlive = pids.Any(p => ProcStat.Read(p) is { } s && s.State != 'Z') ||
                            ProcStat.IsAlive(record.InitPid, record.InitStartTime);
            if (!anyAlive || DateTime.UtcNow > deadline) break;
            Thread.Sleep(5);
        }
        ReapIfChild(record.InitPid);
    }

    private static void WaitGone(int pid, ulong start)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (ProcStat.IsAlive(pid, start) && DateTime.UtcNow < deadline) Thread.Sleep(5);
        ReapIfChild(pid);
    }

    // When `run` deletes, the init is our own child: collect it so it does not linger as a zombie.
    private static void ReapIfChild(int pid)
    {
        if (pid > 0) ProcessWait.WaitFor(pid, TimeSpan.Zero, out _);
    }
}
