using Dune.Interop;
using Tmds.Linux;
namespace Dune.Oci.Interop;

/// <summary>Who runs dune.</summary>
public static class Identity
{
    public static uint Uid => LibC.geteuid();
    public static uint Gid => LibC.getegid();
}
