namespace Dune.Oci.Interop;

/// <summary>Copies a descriptor out of another process (pidfd_open + pidfd_getfd, Linux 5.6).</summary>
internal static class Pidfd
{
    private const long SysPidfdOpen = 434, SysPidfdGetfd = 438;

    /// <summary>A close-on-exec copy of <paramref name="pid"/>'s descriptor <paramref name="targetFd"/>.</summary>
    public static int GetFd(int pid, int targetFd, string what)
    {
        long pidfd = Libc.syscall(SysPidfdOpen, pid, 0, 0);
        if (pidfd < 0) throw Errno.Error($"{what}: pidfd_open({pid})", Errno.Last);
        try
        {
            long fd = Libc.syscall(SysPidfdGetfd, pidfd, targetFd, 0);
            if (fd < 0) throw Errno.Error($"{what}: pidfd_getfd({pid}, {targetFd})", Errno.Last);
            return (int)fd;
        }
        finally
        {
            Libc.close((int)pidfd);
        }
    }
}
