using Dune.Interop;
using Tmds.Linux;
namespace Dune.Oci.Interop;

/// <summary>Copies a descriptor out of another process (pidfd_open + pidfd_getfd, Linux 5.6).</summary>
internal static class Pidfd
{
    private const int SysPidfdOpen = 434, SysPidfdGetfd = 438;

    /// <summary>A close-on-exec copy of <paramref name="pid"/>'s descriptor <paramref name="targetFd"/>.</summary>
    public static int GetFd(int pid, int targetFd, string what)
    {
        long pidfd = (ssize_t)LibC.syscall(SysPidfdOpen, pid, 0, 0);
        if (pidfd < 0) throw RuntimeError.OfErrno($"{what}: pidfd_open({pid})", NativeException.LastErrno);
        try
        {
            long fd = (ssize_t)LibC.syscall(SysPidfdGetfd, (int)pidfd, targetFd, 0);
            if (fd < 0) throw RuntimeError.OfErrno($"{what}: pidfd_getfd({pid}, {targetFd})", NativeException.LastErrno);
            return (int)fd;
        }
        finally
        {
            LibC.close((int)pidfd);
        }
    }
}
