using Dune.Oci.Spec;

namespace Dune.Oci.Planning;

/// <summary>
/// The device cgroup rules a container gets: config.json's rules, then allow rules for the
/// devices every container has (default devices, /dev/pts, /dev/ptmx, /dev/console, mknod of
/// anything), so a "deny all" in the config still leaves a usable /dev; these are runc's
/// always-allowed devices. A linux.devices entry gets its node but no access of its own, as in
/// runc: the config's rules decide (docker and containerd send an allow rule with each device
/// they add; runc's own update test expects a linux.devices node its rules deny to stay denied).
/// </summary>
public static class DeviceCgroupRules
{
    private static readonly (string Type, long? Major, long? Minor, string Access)[] Always =
    {
        ("c", null, null, "m"), ("b", null, null, "m"),
        ("c", 1, 3, "rwm"), ("c", 1, 5, "rwm"), ("c", 1, 7, "rwm"), ("c", 1, 8, "rwm"), ("c", 1, 9, "rwm"),
        ("c", 5, 0, "rwm"), ("c", 5, 1, "rwm"), ("c", 5, 2, "rwm"), ("c", 136, null, "rwm"),
    };

    public static LinuxResources WithDefaults(LinuxResources? resources)
    {
        var r = resources ?? new LinuxResources();
        r.Devices = For(r.Devices);
        return r;
    }

    /// <summary>
    /// <paramref name="configured"/> followed by the allow rules above; an empty or absent list stays as it is
    /// (no restriction at all, nothing to add to).
    /// </summary>
    public static List<LinuxDeviceCgroup>? For(List<LinuxDeviceCgroup>? configured)
    {
        // Only add allow rules when the config restricts devices at all.
        if (configured is not { Count: > 0 }) return configured;
        var rules = new List<LinuxDeviceCgroup>(configured);
        rules.AddRange(Always.Select(a => new LinuxDeviceCgroup { Allow = true, Type = a.Type, Major = a.Major, Minor = a.Minor, Access = a.Access }));
        return rules;
    }
}
