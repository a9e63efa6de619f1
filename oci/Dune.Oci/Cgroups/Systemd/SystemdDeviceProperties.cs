using Dune.Oci.Spec;

namespace Dune.Oci.Cgroups.Systemd;

/// <summary>
/// linux.resources.devices as systemd's DevicePolicy/DeviceAllow, the way runc turns them into
/// unit properties: the rules are replayed as the v1 devices controller would
/// (<see cref="EffectiveDeviceRules"/>, shared with the cgroupfs writers); an allow list becomes
/// DevicePolicy=strict plus one DeviceAllow entry per exception, an allow-everything result
/// DevicePolicy=auto with no entries. systemd has no deny list: any other default-allow result
/// becomes deny-all here, and the cgroupfs writes that follow (devices.allow/deny on v1, dune's
/// device program on v2) put the real rules in place.
/// </summary>
internal static class SystemdDeviceProperties
{
    /// <param name="procDevices">reads /proc/devices, for the group names of "c 136:*"-style rules.</param>
    /// <param name="warn">told about rules systemd cannot express (they still reach cgroupfs).</param>
    public static List<SystemdProperty> Build(IReadOnlyList<LinuxDeviceCgroup>? rules, Func<string> procDevices, Action<string> warn)
    {
        var result = new List<SystemdProperty>();
        if (rules is not { Count: > 0 }) return result;
        var effective = EffectiveDeviceRules.Replay(rules);
        if (effective.AllowsEverything)
        {
            result.Add(SystemdProperty.String("DevicePolicy", "auto"));
            result.Add(SystemdProperty.DeviceAllow(Array.Empty<(string, string)>()));
            return result;
        }
        result.Add(SystemdProperty.String("DevicePolicy", "strict"));
        // An empty DeviceAllow first clears what the unit had (update); the list then appends.
        result.Add(SystemdProperty.DeviceAllow(Array.Empty<(string, string)>()));
        if (effective.DefaultAllow)
        {
            warn("systemd cannot express deny-list device rules: the unit gets a temporary deny-all rule, the cgroup's own device rules apply the list");
            return result;
        }

        var allow = new List<(string Path, string Access)>();
        string? devices = null;
        foreach (var (device, accessBits) in effective.Exceptions)
        {
            var (type, major, minor) = (device.Type, device.Major, device.Minor);
            string access = DeviceAccessText.Format(accessBits);
            string kind = type == 'b' ? "block" : "char";
            if (major < 0)
            {
                if (minor >= 0)
                {
                    warn($"systemd cannot express the device rule \"{type} *:{minor} {access}\": left to the cgroup's own device rules");
                    continue;
                }
                allow.Add(($"{kind}-*", access));
            }
            else if (minor < 0)
            {
                devices ??= procDevices();
                string? group = DeviceGroup(devices, type, major);
                if (group is null)
                {
                    warn($"no device group for \"{type} {major}:*\" in /proc/devices: the rule is left to the cgroup's own device rules");
                    continue;
                }
                allow.Add(($"{kind}-{group}", access));
            }
            else allow.Add(($"/dev/{kind}/{major}:{minor}", access));
        }
        result.Add(SystemdProperty.DeviceAllow(allow));
        return result;
    }

    /// <summary>The driver name /proc/devices gives a major number ("136 pts" under "Character devices:").</summary>
    public static string? DeviceGroup(string procDevices, char type, long major)
    {
        string section = type == 'b' ? "Block devices:" : "Character devices:";
        bool inSection = false;
        foreach (string raw in procDevices.Split('\n'))
        {
            string line = raw.Trim();
            if (line.EndsWith(':')) { inSection = line == section; continue; }
            if (!inSection || line.Length == 0) continue;
            int space = line.IndexOf(' ');
            if (space > 0 && long.TryParse(line.AsSpan(0, space), out long m) && m == major)
                return line.Substring(space + 1).Trim();
        }
        return null;
    }
}
