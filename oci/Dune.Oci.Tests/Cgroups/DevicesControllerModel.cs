using Dune.Oci.Spec;

namespace Dune.Oci.Tests.Cgroups;

/// <summary>
/// The reference the device program is checked against: an independent model of the cgroup v1
/// devices controller (security/device_cgroup.c), fed the rules as devices.allow/devices.deny writes
/// after a "devices.deny a" (runc's starting point). It keeps a list of exceptions as the kernel does;
/// a write with the default's own action takes accesses off exceptions of exactly that device
/// (dev_exception_rm), the other action adds an exception (dev_exception_add, merging accesses);
/// "a" resets. A check is match_exception (default deny: one exception grants every requested
/// access) or match_exception_partial (default allow: one exception shares any requested access).
/// It notes when a removal left a wider exception covering the same accesses (which the kernel
/// silently keeps).
/// </summary>
internal sealed class DevicesControllerModel
{
    private sealed class Exception
    {
        public char Type;
        public long Major, Minor; // -1: any
        public int Access;        // 1 mknod, 2 read, 4 write
    }

    private bool _defaultAllow;
    private readonly List<Exception> _exceptions = new();

    /// <summary>Some deny/allow could not take accesses away because a wildcard exception still held them.</summary>
    public bool IgnoredPartialRemoval { get; private set; }

    public static DevicesControllerModel Of(IEnumerable<LinuxDeviceCgroup> rules)
    {
        var m = new DevicesControllerModel { _defaultAllow = false };
        foreach (var rule in rules) m.Write(rule);
        return m;
    }

    private void Write(LinuxDeviceCgroup rule)
    {
        string type = string.IsNullOrEmpty(rule.Type) ? "a" : rule.Type;
        if (type == "a")
        {
            _defaultAllow = rule.Allow;
            _exceptions.Clear();
            return;
        }
        int access = 0;
        foreach (char c in string.IsNullOrEmpty(rule.Access) ? "rwm" : rule.Access)
            access |= c switch { 'm' => 1, 'r' => 2, 'w' => 4, _ => 0 };
        var ex = new Exception { Type = type[0], Major = rule.Major ?? -1, Minor = rule.Minor ?? -1, Access = access };
        if (rule.Allow != _defaultAllow)
        {
            var same = _exceptions.FirstOrDefault(e => e.Type == ex.Type && e.Major == ex.Major && e.Minor == ex.Minor);
            if (same != null) same.Access |= ex.Access;
            else _exceptions.Add(ex);
            return;
        }
        foreach (var e in _exceptions.ToList())
        {
            if (e.Type != ex.Type) continue;
            if (e.Major == ex.Major && e.Minor == ex.Minor)
            {
                e.Access &= ~ex.Access;
                if (e.Access == 0) _exceptions.Remove(e);
            }
            else if ((e.Major == -1 || e.Major == ex.Major) && (e.Minor == -1 || e.Minor == ex.Minor) && (e.Access & ex.Access) != 0)
            {
                IgnoredPartialRemoval = true;
            }
        }
    }

    /// <summary>Allow by default with no exception: no restriction at all.</summary>
    public bool AllowsEverything => _defaultAllow && _exceptions.Count == 0;

    /// <summary>Whether an access (1 mknod, 2 read, 4 write, or a combination) to the device is allowed.</summary>
    public bool Allows(char type, uint major, uint minor, int access)
    {
        bool Matches(Exception e) => e.Type == type && (e.Major == -1 || e.Major == major) && (e.Minor == -1 || e.Minor == minor);
        if (_defaultAllow)
            return !_exceptions.Any(e => Matches(e) && (access & e.Access) != 0);
        return _exceptions.Any(e => Matches(e) && (access & ~e.Access) == 0);
    }
}
