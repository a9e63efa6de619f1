namespace Dune.Oci.Linux;

/// <summary>linux.namespaces[].type values, their CLONE_NEW* flags and /proc/PID/ns names.</summary>
public static class NamespaceTypes
{
    public const ulong NewNs = 0x00020000, NewCgroup = 0x02000000, NewUts = 0x04000000,
        NewIpc = 0x08000000, NewUser = 0x10000000, NewPid = 0x20000000, NewNet = 0x40000000,
        NewTime = 0x00000080;

    private static readonly (string Type, ulong Flag, string ProcName)[] Table =
    {
        // Order matters when joining: the user namespace first (it grants the rights for the
        // others), the mount namespace last (after it, /proc paths may no longer resolve).
        ("user", NewUser, "user"), ("pid", NewPid, "pid"), ("network", NewNet, "net"),
        ("ipc", NewIpc, "ipc"), ("uts", NewUts, "uts"), ("cgroup", NewCgroup, "cgroup"),
        ("time", NewTime, "time"), ("mount", NewNs, "mnt"),
    };

    public static IEnumerable<string> JoinOrder => Table.Select(t => t.Type);

    public static bool IsKnown(string type) => Table.Any(t => t.Type == type);

    public static ulong Flag(string type) => Table.First(t => t.Type == type).Flag;

    public static string ProcName(string type) => Table.First(t => t.Type == type).ProcName;
}
