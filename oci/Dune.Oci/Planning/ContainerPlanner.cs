using Dune.Oci.Linux;
using Dune.Oci.Plan;
using Dune.Oci.Spec;

namespace Dune.Oci.Planning;

/// <summary>
/// Turns a validated config.json into the ordered setup plan that dune-init runs for `create`
/// (docs/setup-plan.md, "What a create plan looks like").
/// </summary>
public static class ContainerPlanner
{
    public static List<PlanStep> BuildCreate(CreateOptions o)
    {
        var spec = o.Spec;
        var linux = spec.Linux ?? new Spec.Linux();
        var process = spec.Process!;
        var steps = new List<PlanStep>();
        var namespaces = linux.Namespaces ?? new List<LinuxNamespace>();
        bool userns = namespaces.Any(n => n.Type == "user");

        // --- in dune-init, before the clone ---
        if (o.Dune is not null) steps.Add(ProcessPlanner.DuneOpen(o.Dune));
        foreach (var type in NamespaceTypes.JoinOrder)
        {
            var ns = namespaces.FirstOrDefault(n => n.Type == type && !string.IsNullOrEmpty(n.Path));
            if (ns is not null) steps.Add(new PlanStep(PlanOp.Setns, NamespaceTypes.Flag(type), ns.Path!));
        }
        ulong cloneFlags = 0;
        foreach (var ns in namespaces.Where(n => string.IsNullOrEmpty(n.Path)))
        {
            if (ns.Type == "time") continue; // unshared below: clone(2) cannot make a time namespace
            cloneFlags |= NamespaceTypes.Flag(ns.Type);
        }
        if (namespaces.Any(n => n.Type == "time" && string.IsNullOrEmpty(n.Path)))
        {
            steps.Add(new PlanStep(PlanOp.Unshare, NamespaceTypes.NewTime));
            if (linux.TimeOffsets is { Count: > 0 } offsets)
                steps.Add(new PlanStep(PlanOp.WriteFile, "/proc/self/timens_offsets",
                    string.Join("\n", offsets.Select(kv => $"{kv.Key} {kv.Value.Secs} {kv.Value.Nanosecs}"))));
        }
        // Opened by dune-init while it is still host root: the init may be an unprivileged user
        // (or root of a user namespace) that cannot reach the state directory.
        steps.Add(new PlanStep(PlanOp.FifoOpen, o.ExecFifo));
        bool newUserns = (cloneFlags & NamespaceTypes.NewUser) != 0;
        if (newUserns)
            foreach (var m in (spec.Mounts ?? new()).Where(m => m.Type is not ("cgroup" or "cgroup2") && MountPlanner.IsBind(m)))
                steps.Add(MountPlanner.OpenTree(m, o.Bundle));
        // Joining cgroups: the init (single-threaded) moves itself into each v1 hierarchy
        // through its `tasks` file, which spares the kernel's global threadgroup lock; a
        // cgroup2 hierarchy only has cgroup.procs, whose first write waits for an RCU grace
        // period (about 10 ms here), so dune-init's parent does that one after the clone
        // while the init sets itself up, and CGROUP_WAIT waits for it. The cgroup namespace
        // is made once every join is done, so it is rooted at the container's cgroup.
        // In a new user namespace the init is no longer host root and may not write the
        // host's cgroup files: dune-init's parent moves it into every hierarchy then.
        var selfJoins = newUserns ? new List<string>()
            : o.CgroupJoinFiles.Where(f => f.EndsWith("/tasks", StringComparison.Ordinal)).ToList();
        var parentMoves = o.CgroupJoinFiles.Except(selfJoins).ToList();
        bool newCgroupNs = (cloneFlags & NamespaceTypes.NewCgroup) != 0;
        if (o.CgroupJoinFiles.Count > 0) cloneFlags &= ~NamespaceTypes.NewCgroup;
        var cloneArgs = new List<object> { cloneFlags, newUserns ? IdMap(linux.UidMappings) : "", newUserns ? IdMap(linux.GidMappings) : "" };
        cloneArgs.AddRange(parentMoves);
        steps.Add(new PlanStep(PlanOp.Clone, cloneArgs.ToArray()));
        foreach (var f in selfJoins) steps.Add(new PlanStep(PlanOp.JoinCgroup, f));
        if (newCgroupNs && parentMoves.Count == 0 && selfJoins.Count > 0)
            steps.Add(new PlanStep(PlanOp.Unshare, NamespaceTypes.NewCgroup));

        // --- in the container's init ---
        bool newMountNs = (cloneFlags & NamespaceTypes.NewNs) != 0;
        if ((cloneFlags & NamespaceTypes.NewNet) != 0) steps.Add(new PlanStep(PlanOp.LoopbackUp));
        if (!string.IsNullOrEmpty(spec.Hostname)) steps.Add(new PlanStep(PlanOp.SetHostname, spec.Hostname));
        if (!string.IsNullOrEmpty(spec.Domainname)) steps.Add(new PlanStep(PlanOp.SetDomainname, spec.Domainname));

        // Without a mount namespace (runc accepts that) the rootfs is set up in the caller's
        // mount namespace, as runc does, and entered with a plain chroot; the host's own
        // propagation is left alone. `delete` unmounts what was mounted under the rootfs.
        if (newMountNs)
        {
            steps.Add(new PlanStep(PlanOp.Mount, "", "/", "", MountOptionParser.RootPropagation(linux.RootfsPropagation), "", (ulong)MountHow.None));
            // As runc: the mount holding the rootfs is made private, so the bind below does not
            // propagate to its peers and pivot_root does not fail (EINVAL) under a shared parent.
            steps.Add(new PlanStep(PlanOp.ParentPrivate, o.Rootfs));
        }
        steps.Add(new PlanStep(PlanOp.Rootfs, o.Rootfs));
        steps.Add(new PlanStep(PlanOp.Mount, o.Rootfs, o.Rootfs, "", MountFlags.Bind | MountFlags.Rec, "", (ulong)MountHow.None));

        var finalize = new List<PlanStep>();
        for (int i = 0; i < (spec.Mounts?.Count ?? 0); i++)
            MountPlanner.Append(steps, finalize, spec.Mounts![i], o, userns);

        AppendDevices(steps, linux.Devices, process.Terminal, userns);
        if (parentMoves.Count > 0) steps.Add(new PlanStep(PlanOp.CgroupWait, newCgroupNs ? 1UL : 0UL));
        steps.Add(new PlanStep(PlanOp.Sync, HookKinds.CreateRuntime));
        AddHooks(steps, spec.Hooks, HookKinds.CreateContainer);

        if (!namespaces.Any(n => n.Type == "mount")) steps.Add(new PlanStep(PlanOp.Chroot, o.Rootfs));
        else if (o.NoPivot || !newMountNs) steps.Add(new PlanStep(PlanOp.ChrootMove, o.Rootfs));
        else steps.Add(new PlanStep(PlanOp.PivotRoot, o.Rootfs));
        // As runc: rootfsPropagation is applied again to the new "/" (before the switch it made
        // the host's mounts, as copied, e.g. shared; now the container's root is).
        if (newMountNs && !string.IsNullOrEmpty(linux.RootfsPropagation))
            steps.Add(new PlanStep(PlanOp.Mount, "", "/", "", MountOptionParser.RootPropagation(linux.RootfsPropagation), "", (ulong)MountHow.None));
        if (spec.Root!.Readonly)
            steps.Add(new PlanStep(PlanOp.Mount, "", "/", "", MountFlags.Remount | MountFlags.Bind | MountFlags.RdOnly, "", (ulong)MountHow.None));
        // sysctls first: /proc/sys becomes read-only below.
        foreach (var (key, value) in linux.Sysctl ?? new())
            steps.Add(new PlanStep(PlanOp.WriteFile, "/proc/sys/" + key.Replace('.', '/'), value));
        foreach (var p in linux.MaskedPaths ?? new()) steps.Add(new PlanStep(PlanOp.MaskPath, p));
        foreach (var p in linux.ReadonlyPaths ?? new()) steps.Add(new PlanStep(PlanOp.ReadonlyPath, p));
        steps.AddRange(finalize);
        if (!o.NoNewKeyring) steps.Add(new PlanStep(PlanOp.NewKeyring, "_ses." + o.Id));
        if (linux.Personality is { } pers) steps.Add(new PlanStep(PlanOp.Personality, Personality(pers)));

        ProcessPlanner.AppendIdentity(steps, process, o.ConsoleFd, o.LastCap, newSession: true, o.Seccomp);
        steps.Add(new PlanStep(PlanOp.Ready));
        steps.Add(new PlanStep(PlanOp.FifoWait));
        var startHooks = HookKinds.Of(spec.Hooks, HookKinds.StartContainer);
        if (startHooks.Count > 0) steps.Add(new PlanStep(PlanOp.SelectState, (ulong)CreatedStateIndex));
        AddHooks(steps, spec.Hooks, HookKinds.StartContainer);
        steps.Add(new PlanStep(PlanOp.CloseSocket));
        ProcessPlanner.AppendExec(steps, process, o.Seccomp, o.Dune);
        return steps;
    }

    /// <summary>CONTINUE carries the state as "creating" (index 0) and as "created" (index 1).</summary>
    public const int CreatedStateIndex = 1;

    private static void AddHooks(List<PlanStep> steps, Hooks? hooks, string kind)
    {
        var list = HookKinds.Of(hooks, kind);
        for (int i = 0; i < list.Count; i++) steps.Add(RunHook(list[i], $"{kind} hook #{i}"));
    }

    /// <summary>RUN_HOOK; the label ("createContainer hook #1") gives a failure runc's wording.</summary>
    public static PlanStep RunHook(Hook h, string label = "")
    {
        var args = new List<object> { label, h.Path, (ulong)(h.Timeout ?? 0) };
        var argv = h.Args is { Count: > 0 } a ? a : new List<string> { h.Path };
        args.Add((ulong)argv.Count);
        args.AddRange(argv);
        args.AddRange(h.Env ?? new List<string>());
        return new PlanStep(PlanOp.RunHook, args.ToArray());
    }

    private static string IdMap(List<IdMapping>? maps) =>
        string.Concat((maps ?? new()).Select(m => $"{m.ContainerId} {m.HostId} {m.Size}\n"));

    private static void AppendDevices(List<PlanStep> steps, List<LinuxDevice>? configured, bool terminal, bool userns)
    {
        var devices = DefaultDevices.All.Where(d => configured?.Any(c => c.Path == d.Path) != true)
            .Concat(configured ?? new()).ToList();
        foreach (var d in devices)
        {
            if (userns && d.Type != "p")
            {
                // mknod is not allowed in a user namespace: bind the host's node instead.
                steps.Add(new PlanStep(PlanOp.Mount, d.Path, d.Path, "", MountFlags.Bind, "", (ulong)(MountHow.TargetInRootfs | MountHow.MakeFile)));
                continue;
            }
            ulong type = d.Type switch { "b" => 0x6000, "p" => 0x1000, _ => 0x2000 };
            ulong mode = type | (d.FileMode ?? 0x1b6) & 0xfff;
            steps.Add(new PlanStep(PlanOp.Mknod, d.Path, mode, MakeDev(d.Major, d.Minor), (ulong)(d.Uid ?? 0), (ulong)(d.Gid ?? 0)));
        }
        foreach (var (target, link) in DefaultDevices.Symlinks)
            steps.Add(new PlanStep(PlanOp.Symlink, target, link));
        if (File.Exists("/proc/kcore")) steps.Add(new PlanStep(PlanOp.Symlink, "/proc/kcore", "/dev/core"));
        if (terminal)
            steps.Add(new PlanStep(PlanOp.Mknod, "/dev/console", (ulong)(0x8000 | 0x180) /* regular file 0600: the pty is bound over it */, 0UL, 0UL, 0UL));
    }

    // glibc's makedev encoding.
    public static ulong MakeDev(long major, long minor)
    {
        ulong ma = (ulong)major, mi = (ulong)minor;
        return ((ma & 0xfffff000UL) << 32) | ((ma & 0xfffUL) << 8) | ((mi & 0xffffff00UL) << 12) | (mi & 0xffUL);
    }

    private static ulong Personality(Personality p)
    {
        ulong domain = p.Domain switch
        {
            "LINUX" => 0,
            "LINUX32" => 8,
            _ => throw new RuntimeError($"config.json: $.linux.personality.domain \"{p.Domain}\" is not supported (LINUX, LINUX32)"),
        };
        if (p.Flags is { Count: > 0 })
            throw new RuntimeError("config.json: $.linux.personality.flags are not supported");
        return domain;
    }
}
