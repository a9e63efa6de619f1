using Dune.Oci.Cgroups;

namespace Dune.Oci.Lifecycle;

/// <summary>
/// `exec --cgroup`, as runc 1.1 reads it: either one bare path (every hierarchy; the only form
/// for cgroup v2) or one or more `controller[,controller...]:path` (cgroup v1 hierarchies).
/// Each path names an existing sub-cgroup of the container's cgroup; the process joins it
/// instead of the container's cgroup in the hierarchies it applies to.
/// </summary>
public static class SubCgroupPaths
{
    /// <summary>Controller (or "" for all hierarchies) to sub-path; empty when no --cgroup was given.</summary>
    public static IReadOnlyDictionary<string, string> Parse(IReadOnlyList<string> args)
    {
        var paths = new Dictionary<string, string>();
        foreach (var arg in args)
        {
            int colon = arg.IndexOf(':');
            if (colon < 0)
            {
                if (args.Count != 1) throw new RuntimeError($"invalid --cgroup argument: {arg} (missing <controller>: prefix)");
                paths[""] = arg;
                continue;
            }
            var sub = arg[(colon + 1)..];
            foreach (var controller in arg[..colon].Split(','))
            {
                if (controller.Length == 0) throw new RuntimeError($"invalid --cgroup argument: {arg} (empty <controller> prefix)");
                if (!paths.TryAdd(controller, sub)) throw new RuntimeError($"invalid --cgroup argument(s): controller {controller} specified multiple times");
            }
        }
        return paths;
    }

    /// <summary>
    /// The self-join files of <paramref name="cgroup"/> with the sub-cgroups of
    /// <paramref name="paths"/> put in; fails when a sub-cgroup leaves the container's cgroup,
    /// names a controller the container has no hierarchy for, or does not exist.
    /// </summary>
    public static IReadOnlyList<string> JoinFiles(ICgroupManager cgroup, IReadOnlyDictionary<string, string> paths)
    {
        var files = cgroup.SelfJoinFiles.ToList();
        if (paths.Count == 0) return files;
        var env = CgroupEnvironment.Host();
        var layout = CgroupLayout.Parse(env.MountInfo, env.ProcSelfCgroup, env.FsRoot);
        var hierarchies = new List<CgroupHierarchy>(layout.V1);
        if (layout.Unified is not null) hierarchies.Add(layout.Unified);
        var used = new HashSet<string>();
        for (int i = 0; i < files.Count; i++)
        {
            var dir = Path.GetDirectoryName(files[i])!;
            string? sub;
            if (!paths.TryGetValue("", out sub))
            {
                var h = hierarchies.FirstOrDefault(h => dir.StartsWith(h.MountPoint.TrimEnd('/') + "/", StringComparison.Ordinal));
                // A cgroup2 hierarchy has no controller name here: only a bare path moves it.
                var named = h is null || h.Unified ? new List<string>() : h.Controllers.Where(paths.ContainsKey).ToList();
                if (named.Count == 0) continue;
                used.UnionWith(named);
                sub = paths[named[0]];
            }
            var subDir = Path.GetFullPath(Path.Join(dir, sub));
            if (subDir != dir && !subDir.StartsWith(dir + "/", StringComparison.Ordinal))
                throw new RuntimeError($"--cgroup: {sub} is not a sub cgroup path");
            if (!Directory.Exists(subDir))
                throw new RuntimeError($"--cgroup: sub-cgroup {subDir} does not exist");
            files[i] = Path.Join(subDir, Path.GetFileName(files[i]));
        }
        foreach (var controller in paths.Keys.Where(k => k.Length > 0 && !used.Contains(k)))
            throw new RuntimeError($"--cgroup: unknown controller {controller}: the container has no cgroup of that controller");
        return files;
    }
}
