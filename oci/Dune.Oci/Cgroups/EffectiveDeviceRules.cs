using Dune.Oci.Spec;

namespace Dune.Oci.Cgroups;

/// <summary>
/// What a linux.resources.devices list leaves in force once replayed in order the way the cgroup v1
/// devices controller applies devices.allow/devices.deny writes (and runc's and crun's emulation of
/// it for cgroup v2): a default (allow or deny every device) and exceptions to it, each for one
/// device type with a major and minor number (-1 for any) and the accesses it covers.
/// The list starts from "deny everything", as runc's does; a type-"a" rule (or a rule without a
/// type) resets: allow rules to "allow everything", deny rules to "deny everything", whatever its
/// numbers and access say. A rule with the default's own action removes accesses from an exception
/// of exactly the same device; removing accesses that a wildcard exception grants or denies for
/// this device too would be silently ignored by cgroup v1 ("punching a hole"), so it is refused
/// here, as runc refuses it.
/// </summary>
internal sealed class EffectiveDeviceRules
{
    /// <summary>A device type ('c' or 'b') with major and minor numbers, -1 standing for any.</summary>
    public readonly record struct Device(char Type, long Major, long Minor)
    {
        public override string ToString() => $"{Type} {Number(Major)}:{Number(Minor)}";

        private static string Number(long n) => n < 0 ? "*" : n.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private readonly SortedDictionary<Device, DeviceAccess> _exceptions = new(Comparer<Device>.Create(Compare));

    private EffectiveDeviceRules(bool defaultAllow) => DefaultAllow = defaultAllow;

    /// <summary>True when devices not named by an exception are allowed (cgroup v1 "black-list" mode).</summary>
    public bool DefaultAllow { get; private set; }

    /// <summary>The exceptions to the default, ordered by major, minor, type.</summary>
    public IReadOnlyDictionary<Device, DeviceAccess> Exceptions => _exceptions;

    /// <summary>Every device allowed with every access: what a cgroup with no restriction gives.</summary>
    public bool AllowsEverything => DefaultAllow && _exceptions.Count == 0;

    /// <summary>Replays <paramref name="rules"/> in order from "deny everything".</summary>
    /// <param name="warn">Receives a message for each tolerated oddity (unknown access letters of a deny rule).</param>
    public static EffectiveDeviceRules Replay(IEnumerable<LinuxDeviceCgroup> rules, Action<string>? warn = null)
    {
        var result = new EffectiveDeviceRules(defaultAllow: false);
        int index = 0;
        foreach (var rule in rules)
        {
            result.Apply(rule, index, warn);
            index++;
        }
        return result;
    }

    /// <summary>Rules already in effective form (a cgroup v1 devices.list, read back).</summary>
    public static EffectiveDeviceRules Of(bool defaultAllow, IEnumerable<KeyValuePair<Device, DeviceAccess>> exceptions)
    {
        var result = new EffectiveDeviceRules(defaultAllow);
        foreach (var (device, access) in exceptions) result.Add(device, access);
        return result;
    }

    private void Apply(LinuxDeviceCgroup rule, int index, Action<string>? warn)
    {
        string where = $"linux.resources.devices[{index}]";
        string type = string.IsNullOrEmpty(rule.Type) ? "a" : rule.Type;
        if (type is not ("a" or "c" or "b"))
            throw new CgroupException($"{where}: invalid device type \"{type}\" (expected a, c or b)");
        string accessText = string.IsNullOrEmpty(rule.Access) ? "rwm" : rule.Access;
        var access = DeviceAccessText.Parse(accessText, out string unknown);
        if (unknown.Length > 0)
        {
            // runc keeps only the r, w and m of an access string (its rule emulator drops the rest), so its own
            // tests can deny "rwa"; the same here, said out loud: never more than the known letters grant or deny.
            warn?.Invoke($"{where}: access \"{accessText}\": ignoring \"{unknown}\" (only r, w and m name device accesses, as runc reads them)");
        }
        if (type == "a")
        {
            DefaultAllow = rule.Allow;
            _exceptions.Clear();
            return;
        }
        var device = new Device(type[0], CheckNumber(rule.Major, where, "major"), CheckNumber(rule.Minor, where, "minor"));
        if (access == DeviceAccess.None) return;
        if (rule.Allow != DefaultAllow) Add(device, access);
        else Remove(device, access, where);
    }

    private static long CheckNumber(long? n, string where, string what)
    {
        if (n is null or -1) return -1;
        if (n < 0 || n > uint.MaxValue) throw new CgroupException($"{where}: invalid {what} number {n}");
        return n.Value;
    }

    private void Add(Device device, DeviceAccess access) =>
        _exceptions[device] = _exceptions.GetValueOrDefault(device) | access;

    private void Remove(Device device, DeviceAccess access, string where)
    {
        foreach (var wider in new[] { device with { Major = -1 }, device with { Minor = -1 }, device with { Major = -1, Minor = -1 } })
        {
            if (wider == device) continue;
            var overlap = _exceptions.GetValueOrDefault(wider) & access;
            if (overlap != DeviceAccess.None)
                throw new CgroupException($"{where}: \"{device} {DeviceAccessText.Format(access)}\" cannot take {DeviceAccessText.Format(overlap)} away from the wider rule \"{wider} {DeviceAccessText.Format(_exceptions[wider])}\" before it (cgroup v1 would silently ignore such a rule; runc refuses it too)");
        }
        var left = _exceptions.GetValueOrDefault(device) & ~access;
        if (left == DeviceAccess.None) _exceptions.Remove(device);
        else _exceptions[device] = left;
    }

    private static int Compare(Device a, Device b)
    {
        int c = a.Major.CompareTo(b.Major);
        if (c != 0) return c;
        c = a.Minor.CompareTo(b.Minor);
        return c != 0 ? c : a.Type.CompareTo(b.Type);
    }
}
