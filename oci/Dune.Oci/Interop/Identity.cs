namespace Dune.Oci.Interop;

/// <summary>Who runs dune.</summary>
public static class Identity
{
    public static uint Uid => Libc.geteuid();
    public static uint Gid => Libc.getegid();
}
