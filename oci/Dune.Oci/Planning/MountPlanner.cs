using Dune.Oci.Linux;
using Dune.Oci.Plan;
using Dune.Oci.Spec;

namespace Dune.Oci.Planning;

/// <summary>
/// One config.json mount -> MOUNT steps: the mount, a remount for bind flags, recursive
/// attributes (mount_setattr), propagation. As runc, a read-only tmpfs or /dev is mounted
/// read-write (the devices and mount points below it are still to be made) and remounted
/// read-only by a step returned in <c>finalize</c>, which the caller runs after the root switch.
/// </summary>
public static class MountPlanner
{
    private const ulong BindRemountable = MountFlags.RdOnly | MountFlags.NoSuid | MountFlags.NoDev | MountFlags.NoExec
        | MountFlags.NoAtime | MountFlags.NoDirAtime | MountFlags.RelAtime | MountFlags.StrictAtime | MountFlags.NoSymFollow;

    /// <summary>The host path a bind mount's source names (relative sources are in the bundle).</summary>
    public static string BindSource(Mount m, string bundle) =>
        Path.IsPathRooted(m.Source!) ? m.Source! : Path.GetFullPath(Path.Combine(bundle, m.Source!));

    public static bool IsBind(Mount m) => m.Type == "bind" || MountOptionParser.Parse(m.Options).Bind;

    /// <summary>
    /// In a new user namespace the container's root may not reach a bind source (a directory
    /// only host root may enter): OPEN_TREE copies it as host root before the clone (runc 1.1
    /// opens the sources the same way), and the MOUNT step moves that copy into place.
    /// </summary>
    public static PlanStep OpenTree(Mount m, string bundle) =>
        new(PlanOp.OpenTree, BindSource(m, bundle), MountOptionParser.Parse(m.Options).RecursiveBind ? 1UL : 0UL);

    public static void Append(List<PlanStep> steps, List<PlanStep> finalize, Mount m, CreateOptions o, bool userns)
    {
        var opts = MountOptionParser.Parse(m.Options);
        var target = m.Destination;
        var inRoot = MountHow.TargetInRootfs;

        if (m.Type == "cgroup" || m.Type == "cgroup2")
        {
            AppendCgroup(steps, target, opts, o);
            return;
        }

        if (opts.Bind || m.Type == "bind")
        {
            var source = BindSource(m, o.Bundle);
            var how = inRoot | (Directory.Exists(source) ? MountHow.MakeDirectory : MountHow.MakeFile) | (userns ? MountHow.SourceTree : 0);
            ulong bindFlags = MountFlags.Bind | (opts.RecursiveBind ? MountFlags.Rec : 0);
            steps.Add(new PlanStep(PlanOp.Mount, source, target, "", bindFlags, "", (ulong)how));
            // A bind mount ignores most flags on creation: apply them with a remount.
            ulong extra = opts.Flags & BindRemountable;
            if (extra != 0)
                (IsDev(target) && (extra & MountFlags.RdOnly) != 0 ? finalize : steps)
                    .Add(new PlanStep(PlanOp.Mount, "", target, "", MountFlags.Remount | MountFlags.Bind | extra, "", (ulong)inRoot));
        }
        else
        {
            if (userns && m.Type == "sysfs" && !HasNewNetNs(o.Spec))
            {
                // sysfs cannot be mounted from a user namespace that does not own a network
                // namespace: give the container the host's /sys read-only instead.
                steps.Add(new PlanStep(PlanOp.Mount, "/sys", target, "", MountFlags.Bind | MountFlags.Rec, "", (ulong)(inRoot | MountHow.MakeDirectory)));
                steps.Add(new PlanStep(PlanOp.Mount, "", target, "", MountFlags.Remount | MountFlags.Bind | MountFlags.RdOnly | MountFlags.NoSuid | MountFlags.NoDev | MountFlags.NoExec, "", (ulong)inRoot));
            }
            else
            {
                ulong flags = opts.Flags & ~MountFlags.Remount;
                if ((flags & MountFlags.RdOnly) != 0 && (m.Type == "tmpfs" || IsDev(target)))
                {
                    flags &= ~MountFlags.RdOnly;
                    finalize.Add(new PlanStep(PlanOp.Mount, "", target, "", flags | MountFlags.Remount | MountFlags.RdOnly, "", (ulong)inRoot));
                }
                steps.Add(new PlanStep(PlanOp.Mount, m.Source ?? m.Type ?? "none", target, m.Type ?? "", flags, opts.Data,
                    (ulong)(inRoot | MountHow.MakeDirectory)));
            }
        }
        if (opts.HasRecursiveAttrs)
            steps.Add(new PlanStep(PlanOp.MountSetattr, target, opts.RecursiveSet, opts.RecursiveClear));
        foreach (var p in opts.Propagation)
            steps.Add(new PlanStep(PlanOp.Mount, "", target, "", p, "", (ulong)inRoot));
    }

    private static bool IsDev(string target) => target.TrimEnd('/') == "/dev";

    private static bool HasNewNetNs(RuntimeSpec spec) =>
        spec.Linux?.Namespaces?.Any(n => n.Type == "network" && string.IsNullOrEmpty(n.Path)) == true;

    /// <summary>
    /// /sys/fs/cgroup: on cgroup v1 a tmpfs with one bind mount per hierarchy of the container's
    /// own cgroup; on v2 a bind of the container's cgroup directory. Read-only when asked.
    /// </summary>
    private static void AppendCgroup(List<PlanStep> steps, string target, ParsedMountOptions opts, CreateOptions o)
    {
        var inRoot = (ulong)MountHow.TargetInRootfs;
        ulong ro = opts.Flags & (MountFlags.RdOnly | MountFlags.NoSuid | MountFlags.NoDev | MountFlags.NoExec);
        if (!o.CgroupV1)
        {
            foreach (var d in o.CgroupDirectories)
            {
                steps.Add(new PlanStep(PlanOp.Mount, d, target, "", MountFlags.Bind, "", inRoot | (ulong)MountHow.MakeDirectory));
                if (ro != 0) steps.Add(new PlanStep(PlanOp.Mount, "", target, "", MountFlags.Remount | MountFlags.Bind | ro, "", inRoot));
            }
            return;
        }
        var v1 = o.CgroupDirectories.Select(d => (Dir: d, Name: HierarchyName(d))).Where(x => x.Name is not null).ToList();
        steps.Add(new PlanStep(PlanOp.Mount, "tmpfs", target, "tmpfs", MountFlags.NoSuid | MountFlags.NoDev | MountFlags.NoExec, "mode=755",
            inRoot | (ulong)MountHow.MakeDirectory));
        foreach (var (dir, name) in v1)
        {
            var sub = target.TrimEnd('/') + "/" + name;
            steps.Add(new PlanStep(PlanOp.Mount, dir, sub, "", MountFlags.Bind, "", inRoot | (ulong)MountHow.MakeDirectory));
            if (ro != 0) steps.Add(new PlanStep(PlanOp.Mount, "", sub, "", MountFlags.Remount | MountFlags.Bind | ro, "", inRoot));
            // Co-mounted hierarchies ("cpu,cpuacct") are also reachable by each controller's name.
            if (name!.Contains(','))
                foreach (var part in name.Split(','))
                    steps.Add(new PlanStep(PlanOp.Symlink, name, target.TrimEnd('/') + "/" + part));
        }
        if (ro != 0)
            steps.Add(new PlanStep(PlanOp.Mount, "", target, "", MountFlags.Remount | ro, "mode=755", inRoot));
    }

    /// <summary>"/sys/fs/cgroup/memory/a/b" -> "memory" (the hierarchy's directory under /sys/fs/cgroup).</summary>
    private static string? HierarchyName(string dir)
    {
        const string prefix = "/sys/fs/cgroup/";
        if (!dir.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var first = dir[prefix.Length..].Split('/')[0];
        return first.Length == 0 ? null : first;
    }
}
