using Dune.Oci.Spec;

namespace Dune.Oci.Cgroups.Systemd;

/// <summary>
/// linux.resources.devices as systemd's DevicePolicy/DeviceAllow, the way runc turns them into
/// unit properties: the rules are first played in order the way the v1 devices controller would
/// (an "a" rule resets to allow-all or deny-all, then exceptions are added or taken away); an
/// allow list becomes DevicePolicy=strict plus one DeviceAllow entry per exception, an
/// allow-everything result DevicePolicy=auto with no entries. systemd has no deny list: any
/// other default-allow result becomes deny-all here, and the cgroupfs writes that follow
/// (devices.allow/deny on v1, dune's device program on v2) put the real rules in place.
/// </summary>
internal static class SystemdDeviceProperties
{
    /// <param name="procDevices">reads /proc/devices, for the group names of "c 136:*"-style rules.</param>
    /// <param name="warn">told about rules systemd cannot express (they still reach cgroupfs).</param>
    public static List<SystemdProperty> Build(IReadOnlyList<LinuxDeviceCgroup>? rules, Func<string> procDevices, Action<string> warn)
    {
        var result = new List<SystemdProperty>();
        if (rules is not { Count: > 0 }) return result;
        bool defaultAllow = false;
        // (type, major, minor) -> access, in the order the exceptions first appeared.
        var exceptions = new List<(char Type, long Major, long Minor, string Access)>();
        foreach (var rule in rules)
        {
            DeviceRules.ToText(rule); // refuses bad types, numbers and access letters
            char type = string.IsNullOrEmpty(rule.Type) ? 'a' : rule.Type[0];
            string access = string.IsNullOrEmpty(rule.Access) ? "rwm" : rule.Access;
            long major = rule.Major ?? -1, minor = rule.Minor ?? -1;
            if (type == 'a')
            {
                // As in the kernel, "a" replaces everything: the default becomes this rule's verdict.
                defaultAllow = rule.Allow;
                exceptions.Clear();
                continue;
            }
            // An exception widens what the default forbids, or narrows what it allows.
            bool widens = rule.Allow != defaultAllow;
            int i = exceptions.FindIndex(e => e.Type == type && e.Major == major && e.Minor == minor);
            if (widens)
            {
                if (i < 0) exceptions.Add((type, major, minor, Canonical(access)));
                else exceptions[i] = exceptions[i] with { Access = Canonical(exceptions[i].Access + access) };
            }
            else if (i >= 0)
            {
                string left = new(exceptions[i].Access.Where(c => !access.Contains(c)).ToArray());
                if (left.Length == 0) exceptions.RemoveAt(i);
                else exceptions[i] = exceptions[i] with { Access = left };
            }
        }

        if (defaultAllow)
        {
            if (exceptions.Count == 0)
            {
                result.Add(SystemdProperty.String("DevicePolicy", "auto"));
                result.Add(SystemdProperty.DeviceAllow(Array.Empty<(string, string)>()));
                return result;
            }
            warn("systemd cannot express deny-list device rules: the unit gets a temporary deny-all rule, the cgroup's own device rules apply the list");
        }
        result.Add(SystemdProperty.String("DevicePolicy", "strict"));
        // An empty DeviceAllow first clears what the unit had (update); the list then appends.
        result.Add(SystemdProperty.DeviceAllow(Array.Empty<(string, string)>()));
        if (defaultAllow) return result;

        var allow = new List<(string Path, string Access)>();
        string? devices = null;
        foreach (var (type, major, minor, access) in exceptions)
        {
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

    private static string Canonical(string access) =>
        (access.Contains('r') ? "r" : "") + (access.Contains('w') ? "w" : "") + (access.Contains('m') ? "m" : "");
}
