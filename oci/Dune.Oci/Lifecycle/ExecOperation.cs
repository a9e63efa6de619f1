using Tmds.Linux;
using Dune.Interop;
using Dune.Oci.Cgroups;
using Dune.Oci.Interop;
using Dune.Oci.Linux;
using Dune.Oci.Plan;
using Dune.Oci.Planning;
using Dune.Oci.Seccomp;
using Dune.Oci.Spec;
using Dune.Oci.State;

namespace Dune.Oci.Lifecycle;

/// <summary>
/// `exec`: a new process in a running container: dune-init joins the container's namespaces
/// and cgroup, becomes the process (identity, limits, seccomp) and execs it.
/// </summary>
public static class ExecOperation
{
    /// <summary>Starts the process; returns its host pid. <paramref name="ownConsole"/>: a socket for a terminal we serve.</summary>
    public static int Start(RuntimeContext ctx, ExecRequest req, int ownConsole = -1)
    {
        ContainerRecord record;
        ICgroupManager cgroup;
        using (ctx.Store.Lock(req.Id))
        {
            record = ctx.Store.Load(req.Id);
            var status = ContainerStatus.Of(record, ctx.Store);
            if (status == ContainerStatus.Paused && !req.IgnorePaused)
                throw new RuntimeError($"cannot exec in a paused container (use --ignore-paused to override): \"{req.Id}\" is paused");
            if (status is not (ContainerStatus.Running or ContainerStatus.Created or ContainerStatus.Paused))
                throw new RuntimeError($"cannot exec in container \"{req.Id}\": it is {status}");
            try { cgroup = ContainerStatus.Cgroup(record); }
            catch (CgroupException e) { throw new RuntimeError($"exec {req.Id}: {e.Message}"); }
        }
        var p = req.Process;
        var warnings = new List<string>();
        Validation.SpecValidator.ValidateProcess(p, "process", warnings);
        foreach (var w in warnings) RuntimeLog.Warn(w);
        if (p.Terminal && req.ConsoleSocket is null && ownConsole < 0)
            throw new RuntimeError("exec --tty needs --console-socket when detached");
        p.Env = ProcessPlanner.WithHome(p.Env, p.User.Uid, record.Rootfs);
        var seccomp = KernelSeccomp.For(record.Config.Linux?.Seccomp, record.Mode);
        var dune = record.Mode == DuneMode.Dune ? DuneFiles.Existing(ctx.Store.DirOf(req.Id)) : null;

        var steps = new List<PlanStep>();
        if (dune is not null) steps.Add(ProcessPlanner.DuneOpen(dune));
        // dune-init is single-threaded: it joins through the cheap self-join files.
        // The cgroup2 join may fall back to the init's sub-cgroup (see ICgroupManager.InitSubCgroupProcsFile),
        // unless `exec --cgroup` named the sub-cgroups itself.
        string? fallback = req.SubCgroups.Count == 0 ? cgroup.InitSubCgroupProcsFile(record.InitPid) : null;
        foreach (var f in SubCgroupPaths.JoinFiles(cgroup, req.SubCgroups))
            steps.Add(fallback != null && f.EndsWith("/cgroup.procs", StringComparison.Ordinal)
                ? new PlanStep(PlanOp.JoinCgroup, f, fallback)
                : new PlanStep(PlanOp.JoinCgroup, f));
        var configured = record.Config.Linux?.Namespaces ?? new List<LinuxNamespace>();
        foreach (var type in NamespaceTypes.JoinOrder)
        {
            if (!configured.Any(n => n.Type == type)) continue;
            steps.Add(new PlanStep(PlanOp.Setns, NamespaceTypes.Flag(type), $"/proc/{record.InitPid}/ns/{NamespaceTypes.ProcName(type)}"));
        }
        // Without a mount namespace the init runs chroot'ed in the caller's namespace: so does this.
        if (!configured.Any(n => n.Type == "mount"))
            steps.Add(new PlanStep(PlanOp.Chroot, $"/proc/{record.InitPid}/root"));
        int consoleFd = req.ConsoleSocket is not null ? UnixSocket.Connect(req.ConsoleSocket) : ownConsole;
        DuneInitSession? session = null;
        try
        {
            (session, _) = DuneInitSession.Start(fd =>
            {
                var plan = new List<PlanStep>(steps) { new(PlanOp.Clone, 0UL, "", "") };
                ProcessPlanner.AppendIdentity(plan, p, fd, CapabilityNames.LastCap(), newSession: false, seccomp);
                ProcessPlanner.AppendExec(plan, p, seccomp, dune);
                return plan;
            }, req.PreserveFds, p.Terminal ? consoleFd : -1);
            while (true)
            {
                var m = session.Receive();
                if (m is null) break; // EXEC closed the socket: the program runs
                if (m.Kind == PlanMessageKind.SeccompFd)
                {
                    // As runc: the state of the container (running, its init's pid); pid is this process.
                    try
                    {
                        var state = CreateOperation.HookState(record, ContainerStatus.Running);
                        SeccompAgent.Forward(session, m, record.Config.Linux?.Seccomp, session.ChildPid, state);
                    }
                    catch (NativeException)
                    {
                        if (session.ChildPid > 0) { LibC.kill(session.ChildPid, SignalNames.SIGKILL); ProcessWait.Wait(session.ChildPid); }
                        ProcessWait.Wait(session.HelperPid);
                        throw;
                    }
                    continue;
                }
                if (m.Kind == PlanMessageKind.Error)
                {
                    if (session.ChildPid > 0) ProcessWait.Wait(session.ChildPid);
                    ProcessWait.Wait(session.HelperPid);
                    throw session.Describe(m);
                }
            }
            var helper = ProcessWait.Wait(session.HelperPid);
            if (session.ChildPid <= 0)
                throw new RuntimeError($"exec in \"{req.Id}\": dune-init {(helper is int h ? ProcessWait.Describe(h) : "failed")} before starting the process");
            if (req.PidFile is not null)
            {
                try { PidFile.Write(req.PidFile, session.ChildPid); }
                catch (RuntimeError)
                {
                    // As runc: a process whose pid could not be reported does not stay behind.
                    LibC.kill(session.ChildPid, 9);
                    ProcessWait.Wait(session.ChildPid);
                    throw;
                }
            }
            return session.ChildPid;
        }
        finally
        {
            session?.Dispose();
            if (req.ConsoleSocket is not null && consoleFd >= 0) LibC.close(consoleFd);
        }
    }
}
