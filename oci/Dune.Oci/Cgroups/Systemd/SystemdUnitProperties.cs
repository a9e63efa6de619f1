namespace Dune.Oci.Cgroups.Systemd;

/// <summary>The properties that make the transient unit itself, as runc 1.1 sets them.</summary>
internal static class SystemdUnitProperties
{
    /// <param name="pid">the container's init, the scope's process; 0 for none.</param>
    public static List<SystemdProperty> ForStart(SystemdUnit unit, string containerId, int pid, bool v2)
    {
        var p = new List<SystemdProperty> { SystemdProperty.String("Description", "dune container " + containerId) };
        if (unit.IsSlice)
        {
            // A slice's parent is implied by its name; Wants= makes systemd start the parent first.
            p.Add(SystemdProperty.Strings("Wants", unit.Slice));
        }
        else
        {
            p.Add(SystemdProperty.String("Slice", unit.Slice));
            // The container manages its own subtree (nested cgroups, its own controllers' files).
            p.Add(SystemdProperty.Bool("Delegate", true));
        }
        // A slice holds no processes of its own in systemd's model: its members join through cgroupfs.
        if (pid > 0 && !unit.IsSlice) p.Add(SystemdProperty.Pids((uint)pid));
        // Accounting on for every controller, so each hierarchy gets the unit's directory and statistics work.
        p.Add(SystemdProperty.Bool("MemoryAccounting", true));
        p.Add(SystemdProperty.Bool("CPUAccounting", true));
        p.Add(SystemdProperty.Bool(v2 ? "IOAccounting" : "BlockIOAccounting", true));
        p.Add(SystemdProperty.Bool("TasksAccounting", true));
        // No ordering against shutdown.target & co.: the container's lifetime is the runtime's business.
        p.Add(SystemdProperty.Bool("DefaultDependencies", false));
        return p;
    }
}
