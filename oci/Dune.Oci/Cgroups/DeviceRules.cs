using Dune.Oci.Spec;

namespace Dune.Oci.Cgroups;

/// <summary>linux.resources.devices rules as the v1 devices controller reads them, and the v2 allow-all test.</summary>
internal static class DeviceRules
{
    /// <summary>"c 1:3 rwm": type a/c/b, major and minor with "*" for any (absent or -1), access from r, w, m.</summary>
    public static string ToText(LinuxDeviceCgroup rule)
    {
        string type = string.IsNullOrEmpty(rule.Type) ? "a" : rule.Type;
        if (type is not ("a" or "c" or "b"))
            throw new CgroupException($"linux.resources.devices: invalid device type \"{type}\" (expected a, c or b)");
        string access = string.IsNullOrEmpty(rule.Access) ? "rwm" : rule.Access;
        foreach (char c in access)
            if (c is not ('r' or 'w' or 'm'))
                throw new CgroupException($"linux.resources.devices: invalid access \"{access}\" (letters r, w, m)");
        return $"{type} {Number(rule.Major)}:{Number(rule.Minor)} {access}";
    }

    private static string Number(long? n)
    {
        if (n is null or -1) return "*";
        if (n < 0) throw new CgroupException($"linux.resources.devices: invalid device number {n}");
        return CgroupConversions.Num(n.Value);
    }

    /// <summary>Whether the rule names every device with every access.</summary>
    public static bool IsAllDevices(LinuxDeviceCgroup rule) =>
        (string.IsNullOrEmpty(rule.Type) || rule.Type == "a")
        && rule.Major is null or -1 && rule.Minor is null or -1
        && (string.IsNullOrEmpty(rule.Access) || HasAll(rule.Access));

    private static bool HasAll(string access) => access.Contains('r') && access.Contains('w') && access.Contains('m');

    /// <summary>True when applying the rules in order leaves every device allowed, which cgroup v2 gives without an eBPF program.</summary>
    public static bool AllowsEverything(IReadOnlyList<LinuxDeviceCgroup> rules)
    {
        // Without any rule nothing changes (cgroup v2 default: everything allowed).
        int lastAll = -1;
        for (int i = 0; i < rules.Count; i++)
        {
            if (IsAllDevices(rules[i])) lastAll = i;
        }
        // Every rule after the last "everything" rule must be an allow (redundant then); before it, anything is overridden.
        if (lastAll < 0) return AllAllows(rules, 0);
        return rules[lastAll].Allow && AllAllows(rules, lastAll + 1);
    }

    private static bool AllAllows(IReadOnlyList<LinuxDeviceCgroup> rules, int from)
    {
        for (int i = from; i < rules.Count; i++)
            if (!rules[i].Allow) return false;
        return true;
    }
}
