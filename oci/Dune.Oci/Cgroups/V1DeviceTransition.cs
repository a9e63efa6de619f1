using System.Globalization;

namespace Dune.Oci.Cgroups;

/// <summary>
/// The devices.allow/devices.deny writes that take a cgroup v1 devices controller from what its
/// devices.list shows to the target rules with the least disruption, as runc does: the "a" rule
/// that resets everything is written only when the default must change (or when the cgroup allows
/// everything by default, since devices.list then cannot show its deny exceptions); otherwise only
/// the accesses that go or come are written, so a running container never loses a device both old
/// and new rules allow (`update` while it works on /dev/null).
/// </summary>
internal static class V1DeviceTransition
{
    public static List<(string File, string Rule)> Writes(string devicesList, EffectiveDeviceRules target)
    {
        var source = Parse(devicesList);
        var writes = new List<(string File, string Rule)>();
        var old = source.Exceptions;
        if (source.DefaultAllow || source.DefaultAllow != target.DefaultAllow)
        {
            writes.Add((target.DefaultAllow ? "devices.allow" : "devices.deny", "a"));
            old = new Dictionary<EffectiveDeviceRules.Device, DeviceAccess>();
        }
        // A rule with the default's action removes access from an exception, one with the other action adds it.
        string remove = target.DefaultAllow ? "devices.allow" : "devices.deny";
        string add = target.DefaultAllow ? "devices.deny" : "devices.allow";
        foreach (var (device, access) in old)
        {
            var dropped = access & ~target.Exceptions.GetValueOrDefault(device);
            if (dropped != DeviceAccess.None) writes.Add((remove, $"{device} {DeviceAccessText.Format(dropped)}"));
        }
        foreach (var (device, access) in target.Exceptions)
        {
            var gained = access & ~old.GetValueOrDefault(device);
            if (gained != DeviceAccess.None) writes.Add((add, $"{device} {DeviceAccessText.Format(gained)}"));
        }
        return writes;
    }

    /// <summary>devices.list: "a *:* rwm" in allow-by-default mode, else the allowed devices one a line.</summary>
    public static EffectiveDeviceRules Parse(string devicesList)
    {
        var allowed = new Dictionary<EffectiveDeviceRules.Device, DeviceAccess>();
        foreach (string line in devicesList.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string[] numbers = f.Length == 3 ? f[1].Split(':') : Array.Empty<string>();
            if (f.Length != 3 || f[0] is not ("a" or "b" or "c") || numbers.Length != 2)
                throw new CgroupException($"devices.list: cannot parse \"{line}\"");
            if (f[0] == "a") return EffectiveDeviceRules.Of(true, Array.Empty<KeyValuePair<EffectiveDeviceRules.Device, DeviceAccess>>());
            var device = new EffectiveDeviceRules.Device(f[0][0], Number(numbers[0], line), Number(numbers[1], line));
            var access = DeviceAccessText.Parse(f[2], out string unknown);
            if (unknown.Length > 0) throw new CgroupException($"devices.list: cannot parse \"{line}\"");
            allowed[device] = allowed.GetValueOrDefault(device) | access;
        }
        return EffectiveDeviceRules.Of(false, allowed);
    }

    private static long Number(string text, string line) =>
        text == "*" ? -1
        : uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out uint n) ? n
        : throw new CgroupException($"devices.list: cannot parse \"{line}\"");
}
