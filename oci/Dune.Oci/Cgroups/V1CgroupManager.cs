using Dune.Oci.Spec;

namespace Dune.Oci.Cgroups;

/// <summary>
/// cgroup v1 (and hybrid) hosts: the container gets a directory in every mounted hierarchy, named ones
/// (name=systemd) included, plus the cgroup2 mount on hybrid hosts so process tracking stays whole.
/// </summary>
internal sealed class V1CgroupManager : ICgroupManager
{
    private readonly CgroupLayout _layout;
    private readonly ResolvedCgroupPath _path;
    private readonly CgroupEnvironment _env;
    private readonly List<(CgroupHierarchy Hierarchy, string Base, string Leaf)> _dirs = new();
    private readonly List<string> _createdAncestors = new();

    public V1CgroupManager(CgroupLayout layout, ResolvedCgroupPath path, CgroupEnvironment env)
    {
        _layout = layout;
        _path = path;
        _env = env;
        var all = new List<CgroupHierarchy>(layout.V1);
        if (layout.Unified != null) all.Add(layout.Unified);
        foreach (var h in all)
        {
            string baseDir = path.Relative ? h.OwnDir : h.MountPoint;
            string leaf = System.IO.Path.Join(baseDir, path.Relative ? path.Path : path.Path.TrimStart('/'));
            _dirs.Add((h, baseDir, leaf));
        }
    }

    public string Path => _path.Path;

    public IReadOnlyList<string> Directories => _dirs.Select(d => d.Leaf).ToList();

    public IReadOnlyList<string> ProcsFiles => _dirs.Select(d => System.IO.Path.Combine(d.Leaf, "cgroup.procs")).ToList();

    public IReadOnlyList<string> SelfJoinFiles =>
        _dirs.Select(d => System.IO.Path.Combine(d.Leaf, d.Hierarchy.Unified ? "cgroup.procs" : "tasks")).ToList();

    /// <summary>The container's directory in the hierarchy of <paramref name="controller"/>, null when it is not mounted.</summary>
    internal string? DirOf(string controller)
    {
        foreach (var d in _dirs)
            if (!d.Hierarchy.Unified && d.Hierarchy.Controllers.Contains(controller)) return d.Leaf;
        return null;
    }

    public string? InitSubCgroupProcsFile(int initPid)
    {
        foreach (var (h, _, leaf) in _dirs)
            if (h.Unified) return CgroupFs.SubCgroupProcsOf(initPid, h.MountPoint, leaf);
        return null;
    }

    public void Create(LinuxResources? resources)
    {
        // Checked before any directory is made; Apply checks again (warnings then).
        if (resources != null) new V1ResourceWriter(DirOf, warn: null).Validate(resources);
        var writer = new V1ResourceWriter(DirOf, RuntimeLog.Warn);
        var createdLeaves = new List<string>();
        try
        {
            foreach (var (_, baseDir, leaf) in _dirs)
            {
                var created = CgroupFs.CreateDirs(_env.DirOps, baseDir, leaf);
                foreach (string d in created)
                {
                    if (d == leaf) createdLeaves.Add(d);
                    else _createdAncestors.Add(d);
                }
            }
            if (_layout.FindV1("cpuset") is CgroupHierarchy cpuset) InheritCpuset(cpuset);
            // A process joining a frozen cgroup freezes at once: the container would never get
            // ready. runc refuses such a pre-existing cgroup the same way.
            if (GetFreezerState() is FreezerState.Frozen or FreezerState.Freezing)
                throw new CgroupException(CgroupFs.UnexpectedlyFrozen + $" ({System.IO.Path.Combine(DirOf("freezer")!, "freezer.state")} is not THAWED)");
            if (resources != null) writer.Apply(resources);
        }
        catch (CgroupException)
        {
            // Leave nothing half-made behind; the original error is what the caller needs to see.
            foreach (string leaf in createdLeaves)
            {
                try { CgroupFs.RemoveTree(_env.DirOps, leaf, TimeSpan.Zero); }
                catch (CgroupException) { }
            }
            CgroupFs.RemoveIfUnused(_env.DirOps, _createdAncestors);
            _createdAncestors.Clear();
            throw;
        }
    }

    // A new cpuset cgroup starts with empty cpus/mems and refuses tasks: fill each level from its parent, top-down.
    private void InheritCpuset(CgroupHierarchy cpuset)
    {
        string leaf = DirOf("cpuset")!;
        var chain = new Stack<string>();
        for (string? d = leaf; d != null && d.Length > cpuset.MountPoint.Length; d = System.IO.Path.GetDirectoryName(d))
            chain.Push(d);
        foreach (string dir in chain)
        {
            string parent = System.IO.Path.GetDirectoryName(dir)!;
            foreach (string file in new[] { "cpuset.cpus", "cpuset.mems" })
            {
                if (CgroupFs.Read(dir, file).Trim().Length != 0) continue;
                string value = CgroupFs.Read(parent, file).Trim();
                CgroupFs.Write(dir, file, value);
            }
        }
    }

    /// <summary>Nothing to do: the init joined the directories <see cref="Create"/> made through <see cref="SelfJoinFiles"/>.</summary>
    public void Apply(int pid) { }

    public void Update(LinuxResources resources)
    {
        foreach (var (_, _, leaf) in _dirs)
            if (!Directory.Exists(leaf))
                throw new CgroupException($"cannot update: cgroup directory {leaf} does not exist");
        new V1ResourceWriter(DirOf, RuntimeLog.Warn).Apply(resources);
    }

    /// <summary>How long FREEZING may last before a thaw-and-retry.</summary>
    private static readonly TimeSpan FreezeRetry = TimeSpan.FromMilliseconds(250);

    public void Freeze() => SetFreezer("FROZEN");

    public void Thaw() => SetFreezer("THAWED");

    private void SetFreezer(string target)
    {
        string dir = DirOf("freezer")
            ?? throw new CgroupException($"cannot set the freezer to {target}: the freezer cgroup controller is not mounted");
        var start = DateTime.UtcNow;
        var deadline = start + _env.FreezePatience;
        var nextRetry = start + FreezeRetry;
        int delayMs = 1;
        while (true)
        {
            // Re-writing the target while FREEZING nudges tasks that were forking when the first write landed.
            CgroupFs.Write(dir, "freezer.state", target);
            string state = CgroupFs.Read(dir, "freezer.state").Trim();
            if (state == target) return;
            if (target == "FROZEN" && DateTime.UtcNow >= nextRetry)
            {
                // A task that was created but has not run yet (KVM starts a VM's worker thread
                // only when its vCPU first runs, and that vCPU's thread is already frozen) can
                // never freeze: thaw for a moment so it starts, then freeze again.
                CgroupFs.Write(dir, "freezer.state", "THAWED");
                Thread.Sleep(10);
                nextRetry = DateTime.UtcNow + FreezeRetry;
                continue;
            }
            if (DateTime.UtcNow >= deadline)
            {
                if (target == "FROZEN") CgroupFs.Write(dir, "freezer.state", "THAWED");
                throw new CgroupException($"{System.IO.Path.Combine(dir, "freezer.state")} stayed \"{state}\" after writing \"{target}\" for {_env.FreezePatience.TotalSeconds:0.#} s");
            }
            Thread.Sleep(delayMs);
            delayMs = Math.Min(delayMs * 2, 50);
        }
    }

    public FreezerState GetFreezerState()
    {
        string? dir = DirOf("freezer");
        if (dir == null) return FreezerState.Undefined;
        string state = CgroupFs.Read(dir, "freezer.state").Trim();
        return state switch
        {
            "THAWED" => FreezerState.Thawed,
            "FREEZING" => FreezerState.Freezing,
            "FROZEN" => FreezerState.Frozen,
            _ => throw new CgroupException($"{System.IO.Path.Combine(dir, "freezer.state")}: unknown state \"{state}\""),
        };
    }

    // The hybrid cgroup2 mount holds every process of the container too, and has cgroup.kill.
    public bool TryKillAll()
    {
        foreach (var (h, _, leaf) in _dirs)
            if (h.Unified && Directory.Exists(leaf)) return CgroupFs.TryKill(leaf);
        return false;
    }

    public IReadOnlyList<int> GetPids()
    {
        // Every hierarchy: a process that joined only some of them still belongs to the container.
        var pids = new SortedSet<int>();
        foreach (var (_, _, leaf) in _dirs) CgroupFs.CollectPids(leaf, pids);
        return pids.ToList();
    }

    public CgroupStats GetStats() => new V1StatsReader(DirOf).Read();

    public bool OomKilled()
    {
        string? dir = DirOf("memory");
        if (dir == null || !CgroupFs.Exists(dir, "memory.oom_control")) return false;
        return CgroupFs.ReadKeyValues(dir, "memory.oom_control").GetValueOrDefault("oom_kill") > 0;
    }

    public void Destroy()
    {
        CgroupException? first = null;
        foreach (var (_, _, leaf) in _dirs)
        {
            try { CgroupFs.RemoveTree(_env.DirOps, leaf, _env.RemovePatience); }
            catch (CgroupException e) { first ??= e; }
        }
        if (first != null) throw first;
        CgroupFs.RemoveIfUnused(_env.DirOps, _createdAncestors);
        _createdAncestors.Clear();
    }
}
