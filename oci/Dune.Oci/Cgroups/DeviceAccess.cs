namespace Dune.Oci.Cgroups;

/// <summary>
/// The accesses a device rule grants or denies, with the kernel's bit values
/// (BPF_DEVCG_ACC_MKNOD/READ/WRITE, the upper half of bpf_cgroup_dev_ctx.access_type).
/// </summary>
[Flags]
internal enum DeviceAccess
{
    None = 0,
    Mknod = 1,
    Read = 2,
    Write = 4,
    All = Mknod | Read | Write,
}

/// <summary>Conversions between the "rwm" letters of the spec and <see cref="DeviceAccess"/>.</summary>
internal static class DeviceAccessText
{
    /// <summary>The r, w and m letters of <paramref name="access"/>; other letters are returned in <paramref name="unknown"/>.</summary>
    public static DeviceAccess Parse(string access, out string unknown)
    {
        var result = DeviceAccess.None;
        var other = new System.Text.StringBuilder();
        foreach (char c in access)
        {
            switch (c)
            {
                case 'r': result |= DeviceAccess.Read; break;
                case 'w': result |= DeviceAccess.Write; break;
                case 'm': result |= DeviceAccess.Mknod; break;
                default: other.Append(c); break;
            }
        }
        unknown = other.ToString();
        return result;
    }

    /// <summary>"rwm" order, as devices.list prints it.</summary>
    public static string Format(DeviceAccess access) =>
        (access.HasFlag(DeviceAccess.Read) ? "r" : "") + (access.HasFlag(DeviceAccess.Write) ? "w" : "") + (access.HasFlag(DeviceAccess.Mknod) ? "m" : "");
}
