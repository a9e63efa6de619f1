using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Dune.Interop;

/// <summary>
/// Passing one descriptor over a unix socket in an SCM_RIGHTS message: runc's console-socket
/// contract (the pty master) and dune's own channels to dune-init.
/// </summary>
public static unsafe class FdPassing
{
    private const int MSG_NOSIGNAL = 0x4000, MSG_CMSG_CLOEXEC = 0x40000000;

    /// <summary>Sends <paramref name="data"/> (at least one byte) in one message carrying <paramref name="fd"/>.</summary>
    public static void Send(int socket, byte[] data, int fd, string what)
    {
        int space = (int)CMSG_SPACE(sizeof(int));
        byte* control = stackalloc byte[space];
        new Span<byte>(control, space).Clear();
        fixed (byte* p = data)
        {
            var iov = new iovec { iov_base = p, iov_len = (size_t)data.Length };
            var msg = new msghdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = (socklen_t)(uint)space };
            var cmsg = CMSG_FIRSTHDR(&msg);
            // Not CMSG_LEN: Tmds.LibC 0.5.0's returns the aligned 24 where glibc's gives 20, and
            // receivers that check the length (runc's utils.RecvFile, e2e/tools/seccomp-agent)
            // refuse the message. The header and the int, unpadded, as glibc's macro computes.
            cmsg->cmsg_len = (socklen_t)(uint)(sizeof(cmsghdr) + sizeof(int));
            cmsg->cmsg_level = SOL_SOCKET;
            cmsg->cmsg_type = SCM_RIGHTS;
            *(int*)CMSG_DATA(cmsg) = fd;
            long n;
            do n = sendmsg(socket, &msg, MSG_NOSIGNAL);
            while (n < 0 && NativeException.LastErrno == EINTR);
            if (n < 0) throw NativeException.Last(what);
            if (n != data.Length) throw new NativeException($"{what}: sent {n} of {data.Length} bytes", 0);
        }
    }

    /// <summary>
    /// Receives one message and the descriptor it carries (close-on-exec here); -1 when the
    /// peer closed or sent no SCM_RIGHTS descriptor.
    /// </summary>
    public static int Receive(int socket, string what)
    {
        const int dataSize = 4096;
        byte* data = stackalloc byte[dataSize];
        int space = (int)CMSG_SPACE(8 * sizeof(int));
        byte* control = stackalloc byte[space];
        var iov = new iovec { iov_base = data, iov_len = (size_t)dataSize };
        var msg = new msghdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = (socklen_t)(uint)space };
        long n;
        do n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && NativeException.LastErrno == EINTR);
        if (n < 0) throw NativeException.Last(what);
        for (var cmsg = CMSG_FIRSTHDR(&msg); cmsg != null; cmsg = CMSG_NXTHDR(&msg, cmsg))
        {
            if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
                return *(int*)CMSG_DATA(cmsg);
        }
        return -1;
    }
}
