namespace Dune.Oci.Cgroups.Systemd;

/// <summary>
/// linux.cgroupsPath in the systemd driver's "slice:prefix:name" form: the unit dune asks systemd
/// for (a scope "prefix-name.scope", or a slice when name ends in ".slice"), the slice it goes
/// into, and the cgroup directory systemd gives it.
/// </summary>
internal sealed record SystemdUnit
{
    /// <summary>The slice a unit goes into when the cgroupsPath leaves it empty.</summary>
    public const string DefaultSlice = "system.slice";

    /// <summary>The prefix of the default unit name ("dune-&lt;id&gt;.scope", runc's is "runc-&lt;id&gt;.scope").</summary>
    public const string DefaultPrefix = "dune";

    private SystemdUnit(string slice, string name, string cgroupsPath)
    {
        Slice = slice;
        Name = name;
        CgroupsPath = cgroupsPath;
        CgroupPath = ExpandSlice(slice, cgroupsPath) + "/" + name;
    }

    /// <summary>The parent slice, e.g. "system.slice".</summary>
    public string Slice { get; }

    /// <summary>The unit's name, e.g. "dune-abc.scope" or "kubepods-pod1.slice".</summary>
    public string Name { get; }

    /// <summary>"slice:prefix:name" with the defaults filled in: what the container's state records.</summary>
    public string CgroupsPath { get; }

    /// <summary>The unit's cgroup below each hierarchy's root, e.g. "/system.slice/dune-abc.scope".</summary>
    public string CgroupPath { get; }

    /// <summary>True when the unit is a slice (no processes of its own; its parent comes from Wants=).</summary>
    public bool IsSlice => Name.EndsWith(".slice", StringComparison.Ordinal);

    /// <summary>"Scope" or "Slice": the unit type systemd's D-Bus API names.</summary>
    public string Type => IsSlice ? "Slice" : "Scope";

    /// <summary>Parses "slice:prefix:name"; an empty cgroupsPath means "system.slice:dune:&lt;id&gt;", an empty slice "system.slice".</summary>
    public static SystemdUnit Parse(string? cgroupsPath, string containerId)
    {
        string given = cgroupsPath ?? "";
        string[] parts = given.Length == 0 ? new[] { "", DefaultPrefix, containerId } : given.Split(':');
        if (parts.Length != 3)
            throw new CgroupException($"cgroupsPath \"{given}\" must have the form \"slice:prefix:name\" for the systemd cgroup driver");
        string slice = parts[0].Length == 0 ? DefaultSlice : parts[0];
        string prefix = parts[1];
        string name = parts[2];
        if (name.Length == 0 || name.Contains('/') || prefix.Contains('/') || name == "." || name == "..")
            throw new CgroupException($"cgroupsPath \"{given}\": invalid systemd unit name");
        string unit = name.EndsWith(".slice", StringComparison.Ordinal) ? name
            : (prefix.Length == 0 ? name : prefix + "-" + name) + ".scope";
        return new SystemdUnit(slice, unit, $"{slice}:{prefix}:{name}");
    }

    /// <summary>
    /// A slice's cgroup path: systemd nests slices by the dashes of their names, so "a-b.slice" is
    /// "/a.slice/a-b.slice"; "-.slice" is the root (""). Dashes at either end or doubled are invalid.
    /// </summary>
    public static string ExpandSlice(string slice, string cgroupsPath)
    {
        const string suffix = ".slice";
        if (!slice.EndsWith(suffix, StringComparison.Ordinal) || slice.Contains('/'))
            throw new CgroupException($"cgroupsPath \"{cgroupsPath}\": \"{slice}\" is not a systemd slice name");
        if (slice == "-.slice") return "";
        string stem = slice.Substring(0, slice.Length - suffix.Length);
        if (stem.Length == 0 || stem.StartsWith('-') || stem.EndsWith('-') || stem.Contains("--"))
            throw new CgroupException($"cgroupsPath \"{cgroupsPath}\": \"{slice}\" is not a valid slice name");
        var path = new System.Text.StringBuilder();
        string prefix = "";
        foreach (string piece in stem.Split('-'))
        {
            prefix = prefix.Length == 0 ? piece : prefix + "-" + piece;
            path.Append('/').Append(prefix).Append(suffix);
        }
        return path.ToString();
    }
}
