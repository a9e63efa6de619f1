using System.Globalization;

namespace Dune.Oci.Cgroups.Systemd;

/// <summary>What a unit property's D-Bus value is: one of the few types the driver sends.</summary>
internal enum SystemdValueKind
{
    /// <summary>b</summary>
    Bool,
    /// <summary>s</summary>
    String,
    /// <summary>t</summary>
    UInt64,
    /// <summary>au (PIDs)</summary>
    UInt32Array,
    /// <summary>ay (AllowedCPUs, AllowedMemoryNodes: a bit mask, lowest CPU in the first byte's lowest bit)</summary>
    Bytes,
    /// <summary>as (Wants)</summary>
    StringArray,
    /// <summary>a(ss) (DeviceAllow: path or group, access)</summary>
    DeviceAllowList,
}

/// <summary>One systemd unit property (systemd.resource-control(5) names, D-Bus types) as StartTransientUnit and SetUnitProperties take it.</summary>
internal sealed record SystemdProperty(string Name, SystemdValueKind Kind, object Value)
{
    /// <summary>systemd's "infinity" for limits and USec values (USEC_INFINITY, CGROUP_LIMIT_MAX).</summary>
    public const ulong Infinity = ulong.MaxValue;

    public static SystemdProperty Bool(string name, bool value) => new(name, SystemdValueKind.Bool, value);
    public static SystemdProperty String(string name, string value) => new(name, SystemdValueKind.String, value);
    public static SystemdProperty UInt64(string name, ulong value) => new(name, SystemdValueKind.UInt64, value);
    public static SystemdProperty Pids(params uint[] pids) => new("PIDs", SystemdValueKind.UInt32Array, pids);
    public static SystemdProperty Bits(string name, byte[] mask) => new(name, SystemdValueKind.Bytes, mask);
    public static SystemdProperty Strings(string name, params string[] values) => new(name, SystemdValueKind.StringArray, values);
    public static SystemdProperty DeviceAllow(IReadOnlyList<(string Path, string Access)> entries) =>
        new("DeviceAllow", SystemdValueKind.DeviceAllowList, entries);

    /// <summary>"Name=value" as `systemctl show` would roughly print it; for logs, errors and tests.</summary>
    public override string ToString() => Name + "=" + Kind switch
    {
        SystemdValueKind.Bool => (bool)Value ? "yes" : "no",
        SystemdValueKind.UInt64 => (ulong)Value == Infinity ? "infinity" : ((ulong)Value).ToString(CultureInfo.InvariantCulture),
        SystemdValueKind.UInt32Array => string.Join(' ', (uint[])Value),
        SystemdValueKind.Bytes => Convert.ToHexString((byte[])Value).ToLowerInvariant(),
        SystemdValueKind.StringArray => string.Join(' ', (string[])Value),
        SystemdValueKind.DeviceAllowList => string.Join(", ", ((IReadOnlyList<(string Path, string Access)>)Value).Select(e => e.Path + " " + e.Access)),
        _ => (string)Value,
    };
}
