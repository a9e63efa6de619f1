using Dune.Oci.Spec;

namespace Dune.Oci.Cgroups.Systemd;

/// <summary>
/// The systemd cgroup driver (--systemd-cgroup): the container's cgroup is a transient unit that
/// systemd owns (a scope with Delegate=yes, or a slice), with the resource properties systemd
/// knows set on the unit. The cgroupfs manager of this host's cgroup version makes the unit's
/// directories first (where systemd will put them), writes every file and serves pause/resume,
/// stats and pids; the init joins those directories as with the cgroupfs driver, so it is
/// limited from its first instruction on and dune-init, which opens /dev/kvm before it clones
/// the init, is never subject to the container's device rules. Once the init exists, the unit
/// is started with the init as its process: systemd adopts the directories and applies the
/// same values.
/// </summary>
internal sealed class SystemdCgroupManager : ICgroupManager
{
    private readonly ICgroupManager _fs;
    private readonly SystemdUnit _unit;
    private readonly string _containerId;
    private readonly bool _v2;
    private readonly Func<ISystemdClient> _connect;
    private readonly Func<string> _procDevices;
    private LinuxResources? _resources;
    private bool _created;
    // False between Create and Apply of this process: no unit was asked for yet, so a failed
    // create has nothing to stop. A manager opened for an existing container assumes a unit.
    private bool _unitMayExist = true;

    public SystemdCgroupManager(ICgroupManager fs, SystemdUnit unit, string containerId, bool v2, Func<ISystemdClient> connect, Func<string> procDevices)
    {
        _fs = fs;
        _unit = unit;
        _containerId = containerId;
        _v2 = v2;
        _connect = connect;
        _procDevices = procDevices;
    }

    /// <summary>"slice:prefix:name" with the defaults filled in.</summary>
    public string Path => _unit.CgroupsPath;

    /// <summary>The systemd unit that holds the container.</summary>
    public string UnitName => _unit.Name;

    public IReadOnlyList<string> Directories => _fs.Directories;

    public IReadOnlyList<string> ProcsFiles => _fs.ProcsFiles;

    public IReadOnlyList<string> SelfJoinFiles => _fs.SelfJoinFiles;

    public string? InitSubCgroupProcsFile(int initPid) => _fs.InitSubCgroupProcsFile(initPid);

    /// <summary>Refuses what systemd could not be given, then makes the unit's directories and writes the files; the unit itself comes with the init (<see cref="Apply"/>).</summary>
    public void Create(LinuxResources? resources)
    {
        SystemdResourceProperties.Build(resources, _v2, int.MaxValue, _procDevices, _ => { });
        _unitMayExist = false;
        _fs.Create(resources);
        _resources = resources;
        _created = true;
    }

    /// <summary>Starts the unit with the init <paramref name="pid"/> as its process and waits for systemd's job.</summary>
    public void Apply(int pid)
    {
        if (!_created) throw new InvalidOperationException("Apply before Create");
        using var systemd = _connect();
        var properties = SystemdUnitProperties.ForStart(_unit, _containerId, pid, _v2);
        properties.AddRange(SystemdResourceProperties.Build(_resources, _v2, systemd.Version, _procDevices, RuntimeLog.Warn));
        RuntimeLog.DebugLine($"systemd: starting {_unit.Name}: {string.Join("; ", properties)}");
        _unitMayExist = true;
        // The init is setting itself up meanwhile (mknod of the default devices...).
        FrozenWhileSystemdWritesDevices(_resources, () => systemd.StartTransientUnit(_unit.Name, properties));
    }

    /// <summary>
    /// systemd writes v1 device rules deny-all first, then the allowed ones: the container is
    /// kept frozen meanwhile so it never meets a spurious EPERM (runc does the same), unless it
    /// is frozen already. cgroup v2 device programs are replaced at once.
    /// </summary>
    private void FrozenWhileSystemdWritesDevices(LinuxResources? resources, Action call)
    {
        bool freeze = !_v2 && resources?.Devices is { Count: > 0 } && _fs.GetFreezerState() == FreezerState.Thawed;
        if (freeze) _fs.Freeze();
        try { call(); }
        finally
        {
            if (freeze) _fs.Thaw();
        }
    }

    public void Update(LinuxResources resources)
    {
        using (var systemd = _connect())
        {
            var properties = SystemdResourceProperties.Build(resources, _v2, systemd.Version, _procDevices, RuntimeLog.Warn);
            if (properties.Count > 0)
            {
                RuntimeLog.DebugLine($"systemd: setting {_unit.Name}: {string.Join("; ", properties)}");
                FrozenWhileSystemdWritesDevices(resources, () => systemd.SetUnitProperties(_unit.Name, properties));
            }
        }
        _fs.Update(resources);
    }

    public void Freeze() => _fs.Freeze();

    public void Thaw() => _fs.Thaw();

    public FreezerState GetFreezerState() => _fs.GetFreezerState();

    public bool TryKillAll() => _fs.TryKillAll();

    public IReadOnlyList<int> GetPids() => _fs.GetPids();

    public CgroupStats GetStats() => _fs.GetStats();

    public bool OomKilled() => _fs.OomKilled();

    /// <summary>Stops the unit (systemd kills what is left and removes its directories), then removes the directories dune made.</summary>
    public void Destroy()
    {
        CgroupException? stopError = null;
        if (_unitMayExist)
        {
            try
            {
                using var systemd = _connect();
                systemd.StopUnit(_unit.Name);
            }
            catch (CgroupException e) { stopError = e; }
        }
        _fs.Destroy();
        if (stopError is not null) throw stopError;
    }
}
