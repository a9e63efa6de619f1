namespace Dune.Oci.Cgroups.Systemd;

/// <summary>The calls the driver makes on systemd's manager object; tests substitute a recording fake.</summary>
internal interface ISystemdClient : IDisposable
{
    /// <summary>The manager's version number (252 for "252.38-1~deb12u1").</summary>
    int Version { get; }

    /// <summary>StartTransientUnit(name, "replace", properties) and waits for its job to end "done".</summary>
    void StartTransientUnit(string name, IReadOnlyList<SystemdProperty> properties);

    /// <summary>SetUnitProperties(name, runtime: true, properties): changes that last until the unit goes.</summary>
    void SetUnitProperties(string name, IReadOnlyList<SystemdProperty> properties);

    /// <summary>StopUnit(name, "replace") and waits for its job; a unit systemd does not know is already stopped.</summary>
    void StopUnit(string name);

    /// <summary>ResetFailedUnit(name), so a failed unit is forgotten; ignores units that are not failed or not known.</summary>
    void ResetFailedUnit(string name);
}
