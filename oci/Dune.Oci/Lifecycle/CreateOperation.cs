using Dune.Interop;
using Tmds.Linux;
using Dune.Oci.Cgroups;
using Dune.Oci.Interop;
using Dune.Oci.Linux;
using Dune.Oci.Plan;
using Dune.Oci.Planning;
using Dune.Oci.Seccomp;
using Dune.Oci.Spec;
using Dune.Oci.State;
using Dune.Oci.Validation;

namespace Dune.Oci.Lifecycle;

/// <summary>
/// `create`: validate, make the state dir and cgroup, run dune-init's plan up to READY, and
/// leave the container's init waiting on the exec fifo. Any failure undoes everything.
/// </summary>
public static class CreateOperation
{
    public static ContainerRecord Run(RuntimeContext ctx, CreateRequest req)
    {
        ContainerId.Validate(req.Id);
        var bundle = Path.GetFullPath(req.Bundle);
        var spec = SpecLoader.LoadBundle(bundle);
        foreach (var w in SpecValidator.Validate(spec, bundle)) RuntimeLog.Warn(w);
        var process = spec.Process!;
        if (process.Terminal && req.ConsoleSocket is null && req.OwnConsoleSocket < 0)
            throw new RuntimeError("process.terminal is set: --console-socket is required to receive the terminal");
        if (!process.Terminal && req.ConsoleSocket is not null)
            throw new RuntimeError("--console-socket was given but process.terminal is false");
        var mode = DuneMode.FromAnnotations(spec.Annotations, ctx.DefaultMode);
        var backend = mode == DuneMode.Dune ? DuneFiles.CheckHost(spec) : null;
        var seccomp = KernelSeccomp.For(spec.Linux?.Seccomp, mode);
        process.Env = ProcessPlanner.WithHome(process.Env, process.User.Uid, SpecValidator.RootfsPath(spec, bundle));

        RuntimeLog.DebugLine($"create {req.Id}: config.json valid, mode {mode}{(backend is null ? "" : $", backend {backend}")}");
        var store = ctx.Store;
        using var dirLock = store.CreateDir(req.Id);
        var record = new ContainerRecord
        {
            Id = req.Id,
            Bundle = bundle,
            Rootfs = SpecValidator.RootfsPath(spec, bundle),
            Created = DateTime.UtcNow,
            Owner = "",
            Creating = true,
            SystemdCgroup = ctx.SystemdCgroup,
            Mode = mode,
            Config = spec,
        };
        ICgroupManager? cgroup = null;
        DuneInitSession? session = null;
        int consoleFd = -1;
        try
        {
            store.Save(record);
            if (PathCalls.Mkfifo(store.ExecFifo(req.Id), 0x192 /* 0622 */) != 0)
                throw RuntimeError.OfErrno($"cannot make exec fifo {store.ExecFifo(req.Id)}", NativeException.LastErrno);
            // The init opens it after switching to the container's user: writable by all (no umask).
            File.SetUnixFileMode(store.ExecFifo(req.Id), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite);
            try
            {
                var opened = CgroupManagerFactory.Open(spec.Linux?.CgroupsPath, req.Id, ctx.SystemdCgroup);
                record.CgroupsPath = opened.Path;
                store.Save(record);
                // A failed Create removes what it made itself and leaves a cgroup that existed before
                // (a frozen one, say) alone: Undo below must not destroy it.
                opened.Create(DeviceCgroupRules.WithDefaults(spec.Linux?.Resources));
                cgroup = opened;
                RuntimeLog.DebugLine($"create {req.Id}: cgroup {cgroup.Path} ready");
            }
            catch (CgroupException e) { throw new RuntimeError($"cgroup: {e.Message}"); }

            var dune = mode == DuneMode.Dune ? DuneFiles.Prepare(store.DirOf(req.Id), spec, backend!) : null;
            consoleFd = req.ConsoleSocket is not null ? UnixSocket.Connect(req.ConsoleSocket) : req.OwnConsoleSocket;
            var options = new CreateOptions
            {
                Id = req.Id,
                Bundle = bundle,
                Rootfs = record.Rootfs,
                Spec = spec,
                ExecFifo = store.ExecFifo(req.Id),
                CgroupJoinFiles = cgroup.SelfJoinFiles,
                CgroupDirectories = cgroup.Directories,
                CgroupV1 = !File.Exists("/sys/fs/cgroup/cgroup.controllers"),
                Seccomp = seccomp,
                NoPivot = req.NoPivot,
                NoNewKeyring = req.NoNewKeyring,
                LastCap = CapabilityNames.LastCap(),
                Dune = dune,
            };
            (session, _) = DuneInitSession.Start(fd => ContainerPlanner.BuildCreate(options with { ConsoleFd = fd }),
                req.PreserveFds, process.Terminal ? consoleFd : -1);
            Converse(session, record, store, cgroup);
            ReapHelper(session);
            if (req.PidFile is not null) PidFile.Write(req.PidFile, record.InitPid);
            record.Creating = false;
            store.Save(record);
            return record;
        }
        catch (Exception e)
        {
            // Whatever failed, nothing of this container may stay behind.
            Undo(record, store, cgroup, session);
            if (e is RuntimeError) throw;
            throw new RuntimeError($"create {req.Id}: {e.Message}", e);
        }
        finally
        {
            session?.Dispose();
            if (req.ConsoleSocket is not null && consoleFd >= 0) LibC.close(consoleFd);
        }
    }

    /// <summary>Answers dune-init until it says READY: PID, SYNC (runtime hooks), ERROR.</summary>
    private static void Converse(DuneInitSession session, ContainerRecord record, StateStore store, ICgroupManager cgroup)
    {
        while (true)
        {
            var m = session.Receive();
            if (m is null)
            {
                var how = ReapHelper(session);
                throw new RuntimeError($"dune-init exited during setup before the container was ready{how}");
            }
            RuntimeLog.DebugLine($"dune-init: {m.Kind}");
            switch (m.Kind)
            {
                case PlanMessageKind.Pid:
                    record.InitPid = session.ChildPid;
                    record.InitStartTime = ProcStat.Read(record.InitPid)?.StartTime ?? 0;
                    store.Save(record);
                    // The systemd driver makes its unit around the init now (the init is in the
                    // cgroup already; the container's program runs only after `start`).
                    try { cgroup.Apply(record.InitPid); }
                    catch (CgroupException e) { throw new RuntimeError($"cgroup: {e.Message}"); }
                    break;
                case PlanMessageKind.Sync:
                    var state = ContainerStatus.StateJson(HookState(record, ContainerStatus.Creating));
                    var hooks = record.Config.Hooks;
                    HookRunner.Run(HookKinds.Prestart, HookKinds.Of(hooks, HookKinds.Prestart), state);
                    HookRunner.Run(HookKinds.CreateRuntime, HookKinds.Of(hooks, HookKinds.CreateRuntime), state);
                    // startContainer hooks run after `start` released the init: they see "created".
                    session.Continue(state, ContainerStatus.StateJson(HookState(record, ContainerStatus.Created)));
                    break;
                case PlanMessageKind.SeccompFd:
                    SeccompAgent.Forward(session, m, record.Config.Linux?.Seccomp, record.InitPid, HookState(record, ContainerStatus.Creating));
                    break;
                case PlanMessageKind.Ready:
                    return;
                case PlanMessageKind.Error:
                    throw session.Describe(m);
                default:
                    throw new RuntimeError($"dune-init sent an unexpected message {m.Kind}");
            }
        }
    }

    public static ContainerState HookState(ContainerRecord r, string status) => new()
    {
        Id = r.Id, Pid = r.InitPid, Status = status, Bundle = r.Bundle, Rootfs = r.Rootfs,
        Created = r.Created, Owner = r.Owner, Annotations = r.Config.Annotations,
    };

    /// <summary>Collects dune-init's own exit; returns a phrase for error messages.</summary>
    private static string ReapHelper(DuneInitSession session)
    {
        var status = ProcessWait.Wait(session.HelperPid);
        return status is int s && s != 0 ? $" (dune-init {ProcessWait.Describe(s)})" : "";
    }

    /// <summary>Removes everything a failed create made: the init, the cgroup, the state dir.</summary>
    private static void Undo(ContainerRecord record, StateStore store, ICgroupManager? cgroup, DuneInitSession? session)
    {
        int child = session?.ChildPid ?? 0;
        if (child > 0)
        {
            LibC.kill(child, SignalNames.SIGKILL);
            ProcessWait.Wait(child);
        }
        if (session is not null) ProcessWait.WaitFor(session.HelperPid, TimeSpan.FromSeconds(5), out _);
        if (cgroup is not null)
        {
            try
            {
                foreach (var pid in cgroup.GetPids()) LibC.kill(pid, SignalNames.SIGKILL);
                cgroup.Destroy();
            }
            catch (CgroupException e) { RuntimeLog.Warn($"cleanup: {e.Message}"); }
        }
        if (record.Config.Linux?.Namespaces?.Any(n => n.Type == "mount") != true)
            HostMountCleanup.Run(record.Rootfs);
        store.Remove(record.Id);
    }
}
