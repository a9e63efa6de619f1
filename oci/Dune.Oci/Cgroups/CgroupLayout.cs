namespace Dune.Oci.Cgroups;

internal enum CgroupMode
{
    /// <summary>Only cgroup v1 hierarchies.</summary>
    V1,
    /// <summary>cgroup v1 hierarchies carry the controllers; a cgroup2 mount exists beside them.</summary>
    Hybrid,
    /// <summary>Only the cgroup v2 unified hierarchy.</summary>
    V2,
}

/// <summary>The cgroup hierarchies of this host as seen from /proc/self/mountinfo and /proc/self/cgroup.</summary>
internal sealed class CgroupLayout
{
    private CgroupLayout(CgroupMode mode, List<CgroupHierarchy> v1, CgroupHierarchy? unified)
    {
        Mode = mode;
        V1 = v1;
        Unified = unified;
    }

    public CgroupMode Mode { get; }

    /// <summary>The v1 hierarchies, one per mount (co-mounted controllers share one).</summary>
    public IReadOnlyList<CgroupHierarchy> V1 { get; }

    /// <summary>The cgroup2 mount, if any.</summary>
    public CgroupHierarchy? Unified { get; }

    /// <summary>The v1 hierarchy holding <paramref name="controller"/>, or null when it is not mounted.</summary>
    public CgroupHierarchy? FindV1(string controller)
    {
        foreach (var h in V1)
            if (h.Controllers.Contains(controller)) return h;
        return null;
    }

    public static CgroupLayout Parse(string mountInfo, string procSelfCgroup, string fsRoot)
    {
        // /proc/self/cgroup: "id:controllers:path"; "0::path" is the v2 entry.
        var ownV1 = new List<(HashSet<string> Controllers, string Path)>();
        string? ownV2 = null;
        foreach (string line in procSelfCgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int first = line.IndexOf(':');
            int second = first < 0 ? -1 : line.IndexOf(':', first + 1);
            if (second < 0) continue;
            string controllers = line.Substring(first + 1, second - first - 1);
            string path = line.Substring(second + 1);
            if (controllers.Length == 0) ownV2 = path;
            else ownV1.Add((new HashSet<string>(controllers.Split(','), StringComparer.Ordinal), path));
        }

        var v1 = new List<CgroupHierarchy>();
        CgroupHierarchy? unified = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string line in mountInfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // "id parent maj:min root mountpoint opts [optional...] - fstype source superopts"
            string[] f = line.Split(' ');
            int dash = Array.IndexOf(f, "-");
            if (dash < 6 || f.Length < dash + 4) continue;
            string fsType = f[dash + 1];
            string root = Unescape(f[3]);
            string mountPoint = Unescape(f[4]);
            if (fsType == "cgroup2")
            {
                if (unified != null) continue;
                unified = new CgroupHierarchy(true, Array.Empty<string>(), Prefix(fsRoot, mountPoint),
                    Prefix(fsRoot, mountPoint + Relative(ownV2 ?? "/", root)));
            }
            else if (fsType == "cgroup")
            {
                var controllers = new List<string>();
                foreach (string opt in f[dash + 3].Split(','))
                {
                    if (opt.StartsWith("name=", StringComparison.Ordinal)) controllers.Add(opt);
                    else if (IsController(opt)) controllers.Add(opt);
                }
                if (controllers.Count == 0) continue;
                string key = string.Join(',', controllers.Order(StringComparer.Ordinal));
                if (!seen.Add(key)) continue; // the same hierarchy bind-mounted again
                string own = "/";
                foreach (var (set, path) in ownV1)
                    if (set.SetEquals(controllers)) { own = path; break; }
                v1.Add(new CgroupHierarchy(false, controllers, Prefix(fsRoot, mountPoint),
                    Prefix(fsRoot, mountPoint + Relative(own, root))));
            }
        }

        CgroupMode mode = v1.Count == 0 ? CgroupMode.V2 : unified == null ? CgroupMode.V1 : CgroupMode.Hybrid;
        if (v1.Count == 0 && unified == null)
            throw new CgroupException("no cgroup filesystem is mounted (no cgroup or cgroup2 entry in /proc/self/mountinfo)");
        return new CgroupLayout(mode, v1, unified);
    }

    // v1 super options also carry generic flags (rw, relatime, clone_children, ...).
    private static bool IsController(string opt) => opt switch
    {
        "cpu" or "cpuacct" or "cpuset" or "memory" or "devices" or "freezer" or "blkio" or "pids"
            or "hugetlb" or "net_cls" or "net_prio" or "perf_event" or "rdma" or "misc" => true,
        _ => false,
    };

    // The own cgroup path relative to the mount's root ("/" when the mount shows the whole hierarchy).
    private static string Relative(string own, string mountRoot)
    {
        if (mountRoot == "/") return own == "/" ? "" : own;
        if (own == mountRoot) return "";
        if (own.StartsWith(mountRoot + "/", StringComparison.Ordinal)) return own.Substring(mountRoot.Length);
        return own == "/" ? "" : own;
    }

    private static string Prefix(string fsRoot, string path) =>
        fsRoot == "/" ? path : System.IO.Path.Join(fsRoot, path);

    // mountinfo escapes space, tab, newline and backslash as \ooo.
    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new System.Text.StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length
                && IsOctal(s[i + 1]) && IsOctal(s[i + 2]) && IsOctal(s[i + 3]))
            {
                sb.Append((char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static bool IsOctal(char c) => c >= '0' && c <= '7';
}
