using Dune.Oci.Spec;

namespace Dune.Oci.Cgroups;

/// <summary>Pure cgroup v2 hosts: one directory in the unified hierarchy.</summary>
internal sealed class V2CgroupManager : ICgroupManager
{
    private readonly ResolvedCgroupPath _path;
    private readonly CgroupEnvironment _env;
    private readonly CgroupHierarchy _unified;
    private readonly string _base;
    private readonly string _leaf;
    private readonly List<string> _createdAncestors = new();

    public V2CgroupManager(CgroupLayout layout, ResolvedCgroupPath path, CgroupEnvironment env)
    {
        _path = path;
        _env = env;
        _unified = layout.Unified!;
        _base = path.Relative ? _unified.OwnDir : _unified.MountPoint;
        _leaf = System.IO.Path.Join(_base, path.Relative ? path.Path : path.Path.TrimStart('/'));
    }

    public string Path => _path.Path;

    public IReadOnlyList<string> Directories => new[] { _leaf };

    public IReadOnlyList<string> ProcsFiles => new[] { System.IO.Path.Combine(_leaf, "cgroup.procs") };

    public IReadOnlyList<string> SelfJoinFiles => ProcsFiles;

    public string? InitSubCgroupProcsFile(int initPid) => CgroupFs.SubCgroupProcsOf(initPid, _unified.MountPoint, _leaf);

    public void Create(LinuxResources? resources)
    {
        bool leafExisted = Directory.Exists(_leaf);
        try
        {
            // Top-down: a level hands its controllers on before the next level is made below it.
            foreach (string dir in AncestorsTopDown())
            {
                if (dir.Length >= _base.Length)
                    _createdAncestors.AddRange(CgroupFs.CreateDirs(_env.DirOps, _base, dir));
                EnableControllers(dir);
            }
            CgroupFs.CreateDirs(_env.DirOps, _base, _leaf);
            // A process joining a frozen cgroup freezes at once: the container would never get
            // ready. runc refuses such a pre-existing cgroup the same way.
            if (GetFreezerState() is FreezerState.Frozen or FreezerState.Freezing)
                throw new CgroupException(CgroupFs.UnexpectedlyFrozen + $" ({System.IO.Path.Combine(_leaf, "cgroup.freeze")} is 1)");
            if (resources != null) new V2ResourceWriter(_leaf, _env.DeviceFilter).Apply(resources);
        }
        catch (CgroupException)
        {
            if (!leafExisted)
            {
                try { CgroupFs.RemoveTree(_env.DirOps, _leaf, TimeSpan.Zero); }
                catch (CgroupException) { }
            }
            CgroupFs.RemoveIfUnused(_env.DirOps, _createdAncestors);
            _createdAncestors.Clear();
            throw;
        }
    }

    // From the hierarchy's root down to the leaf's parent.
    private IEnumerable<string> AncestorsTopDown()
    {
        var chain = new Stack<string>();
        for (string? d = System.IO.Path.GetDirectoryName(_leaf); d != null && d.Length >= _unified.MountPoint.Length; d = System.IO.Path.GetDirectoryName(d))
            chain.Push(d);
        return chain;
    }

    // Each level hands its children the controllers it has (as runc does), so limits and statistics work below.
    // A level that holds processes itself refuses (no internal processes); the resource writer then names the missing controller.
    private void EnableControllers(string dir)
    {
        string[] available = (CgroupFs.TryRead(dir, "cgroup.controllers") ?? "")
            .Split(CgroupFs.Whitespace, StringSplitOptions.RemoveEmptyEntries);
        var enabled = new HashSet<string>((CgroupFs.TryRead(dir, "cgroup.subtree_control") ?? "")
            .Split(CgroupFs.Whitespace, StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
        string[] missing = available.Where(c => !enabled.Contains(c)).ToArray();
        if (missing.Length == 0) return;
        try
        {
            CgroupFs.Write(dir, "cgroup.subtree_control", string.Join(' ', missing.Select(c => "+" + c)));
        }
        catch (CgroupException)
        {
            // One refused controller fails the whole write: enable the others one by one.
            foreach (string c in missing)
            {
                try { CgroupFs.Write(dir, "cgroup.subtree_control", "+" + c); }
                catch (CgroupException) { }
            }
        }
    }

    /// <summary>Nothing to do: the init joined the directories <see cref="Create"/> made through <see cref="SelfJoinFiles"/>.</summary>
    public void Apply(int pid) { }

    public void Update(LinuxResources resources)
    {
        if (!Directory.Exists(_leaf))
            throw new CgroupException($"cannot update: cgroup directory {_leaf} does not exist");
        new V2ResourceWriter(_leaf, _env.DeviceFilter).Apply(resources);
    }

    /// <summary>How long freezing may take before a thaw-and-retry.</summary>
    private static readonly TimeSpan FreezeRetry = TimeSpan.FromMilliseconds(250);

    public void Freeze() => SetFrozen(true);

    public void Thaw() => SetFrozen(false);

    private void SetFrozen(bool frozen)
    {
        if (!CgroupFs.Exists(_leaf, "cgroup.freeze"))
            throw new CgroupException($"cannot {(frozen ? "freeze" : "thaw")}: {System.IO.Path.Combine(_leaf, "cgroup.freeze")} does not exist (kernel older than 5.2 or cgroup missing)");
        CgroupFs.Write(_leaf, "cgroup.freeze", frozen ? "1" : "0");
        var deadline = DateTime.UtcNow + _env.FreezePatience;
        var nextRetry = DateTime.UtcNow + FreezeRetry;
        int delayMs = 1;
        while (true)
        {
            ulong state = CgroupFs.ReadKeyValues(_leaf, "cgroup.events").GetValueOrDefault("frozen");
            if ((state == 1) == frozen) return;
            if (frozen && DateTime.UtcNow >= nextRetry)
            {
                // As in v1: a task that has never run (a VM's KVM worker thread) cannot freeze
                // while the thread that would start it is frozen; thaw briefly and retry.
                CgroupFs.Write(_leaf, "cgroup.freeze", "0");
                Thread.Sleep(10);
                CgroupFs.Write(_leaf, "cgroup.freeze", "1");
                nextRetry = DateTime.UtcNow + FreezeRetry;
                continue;
            }
            if (DateTime.UtcNow >= deadline)
            {
                if (frozen) CgroupFs.Write(_leaf, "cgroup.freeze", "0");
                throw new CgroupException($"{System.IO.Path.Combine(_leaf, "cgroup.events")} still says \"frozen {state}\" {_env.FreezePatience.TotalSeconds:0.#} s after writing \"{(frozen ? 1 : 0)}\" to cgroup.freeze");
            }
            Thread.Sleep(delayMs);
            delayMs = Math.Min(delayMs * 2, 50);
        }
    }

    public FreezerState GetFreezerState()
    {
        if (!Directory.Exists(_leaf))
            throw new CgroupException($"cgroup directory {_leaf} does not exist");
        if (!CgroupFs.Exists(_leaf, "cgroup.freeze")) return FreezerState.Undefined;
        if (CgroupFs.Read(_leaf, "cgroup.freeze").Trim() == "0") return FreezerState.Thawed;
        return CgroupFs.ReadKeyValues(_leaf, "cgroup.events").GetValueOrDefault("frozen") == 1
            ? FreezerState.Frozen : FreezerState.Freezing;
    }

    public bool TryKillAll() => Directory.Exists(_leaf) && CgroupFs.TryKill(_leaf);

    public IReadOnlyList<int> GetPids()
    {
        var pids = new SortedSet<int>();
        CgroupFs.CollectPids(_leaf, pids);
        return pids.ToList();
    }

    public CgroupStats GetStats() => new V2StatsReader(_leaf).Read();

    public bool OomKilled() =>
        CgroupFs.Exists(_leaf, "memory.events")
        && CgroupFs.ReadKeyValues(_leaf, "memory.events").GetValueOrDefault("oom_kill") > 0;

    public void Destroy()
    {
        // rmdir frees the device program too, but only once nothing refers to the cgroup any more: detach it now.
        _env.DeviceFilter.Remove(_leaf);
        CgroupFs.RemoveTree(_env.DirOps, _leaf, _env.RemovePatience);
        CgroupFs.RemoveIfUnused(_env.DirOps, _createdAncestors);
        _createdAncestors.Clear();
    }
}
