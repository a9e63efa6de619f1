using Dune.Oci.Spec;

namespace Dune.Oci.Planning;

/// <summary>
/// The device cgroup rules a container gets: config.json's rules, then allow rules for the
/// devices every container has (default devices, /dev/pts, /dev/ptmx, /dev/console, mknod of
/// anything) and for linux.devices, so a "deny all" in the config still leaves a usable /dev.
/// </summary>
public static class DeviceCgroupRules
{
    private static readonly (string Type, long? Major, long? Minor, string Access)[] Always =
    {
        ("c", null, null, "m"), ("b", null, null, "m"),
        ("c", 1, 3, "rwm"), ("c", 1, 5, "rwm"), ("c", 1, 7, "rwm"), ("c", 1, 8, "rwm"), ("c", 1, 9, "rwm"),
        ("c", 5, 0, "rwm"), ("c", 5, 1, "rwm"), ("c", 5, 2, "rwm"), ("c", 136, null, "rwm"),
    };

    public static LinuxResources WithDefaults(LinuxResources? resources, IEnumerable<LinuxDevice>? devices)
    {
        var r = resources ?? new LinuxResources();
        r.Devices = For(r.Devices, devices);
        return r;
    }

    /// <summary>
    /// <paramref name="configured"/> followed by the allow rules above; an empty or absent list stays as it is
    /// (no restriction at all, nothing to add to).
    /// </summary>
    public static List<LinuxDeviceCgroup>? For(List<LinuxDeviceCgroup>? configured, IEnumerable<LinuxDevice>? devices)
    {
        // Only add allow rules when the config restricts devices at all.
        if (configured is not { Count: > 0 }) return configured;
        var rules = new List<LinuxDeviceCgroup>(configured);
        rules.AddRange(Always.Select(a => new LinuxDeviceCgroup { Allow = true, Type = a.Type, Major = a.Major, Minor = a.Minor, Access = a.Access }));
        foreach (var d in devices ?? Enumerable.Empty<LinuxDevice>())
            rules.Add(new LinuxDeviceCgroup { Allow = true, Type = d.Type == "u" ? "c" : d.Type, Major = d.Major, Minor = d.Minor, Access = "rwm" });
        return rules;
    }
}
