using Dune.Interop;
using Tmds.Linux;
using System.Text;

namespace Dune.Oci.Interop;

/// <summary>
/// Where a runtime-side hook's stdout or stderr goes: an anonymous memory file (a hook that
/// writes much cannot block on a full pipe), read back for the failure message.
/// </summary>
public static unsafe class HookOutput
{
    private const uint MfdCloexec = 1;
    private const int Limit = 1024;

    public static int Open()
    {
        int fd = PathCalls.MemfdCreate("dune-hook-output", MfdCloexec);
        if (fd < 0) throw RuntimeError.OfErrno("memfd_create for a hook's output", NativeException.LastErrno);
        return fd;
    }

    /// <summary>The first bytes the hook wrote (what a message can carry).</summary>
    public static string Read(int fd)
    {
        var buf = new byte[Limit];
        fixed (byte* b = buf)
        {
            nint n = (nint)LibC.pread(fd, b, (size_t)buf.Length, 0);
            return n > 0 ? Encoding.UTF8.GetString(buf, 0, (int)n) : "";
        }
    }
}
