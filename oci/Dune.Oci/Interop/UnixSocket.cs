using System.Text;

namespace Dune.Oci.Interop;

/// <summary>Console sockets: connecting to the caller's, and receiving a pty master from our own.</summary>
internal static unsafe class UnixSocket
{
    /// <summary>Connects to the AF_UNIX stream socket at <paramref name="path"/> (--console-socket).</summary>
    public static int Connect(string path) => Connect(path, $"cannot connect to console socket {path}");

    /// <summary>Connects to the AF_UNIX stream socket at <paramref name="path"/>; errors start with <paramref name="failure"/>.</summary>
    public static int Connect(string path, string failure)
    {
        var bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length >= 108) throw new RuntimeError($"{failure}: the socket path is longer than 107 bytes");
        int fd = Libc.socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0) throw Errno.Error("socket", Errno.Last);
        byte* addr = stackalloc byte[110];
        new Span<byte>(addr, 110).Clear();
        addr[0] = 1; // AF_UNIX
        for (int i = 0; i < bytes.Length; i++) addr[2 + i] = bytes[i];
        if (Libc.connect(fd, addr, 2 + bytes.Length + 1) != 0)
        {
            int e = Errno.Last;
            Libc.close(fd);
            throw Errno.Error(failure, e);
        }
        return fd;
    }

    /// <summary>Sends <paramref name="data"/> in one message carrying <paramref name="fd"/> as SCM_RIGHTS.</summary>
    public static void SendWithFd(int socket, byte[] data, int fd, string what)
    {
        byte* control = stackalloc byte[24]; // CMSG_SPACE(sizeof(int))
        new Span<byte>(control, 24).Clear();
        *(nuint*)control = 20;                // CMSG_LEN(sizeof(int))
        *(int*)(control + 8) = Libc.SOL_SOCKET;
        *(int*)(control + 12) = Libc.SCM_RIGHTS;
        *(int*)(control + 16) = fd;
        fixed (byte* p = data)
        {
            var iov = new Libc.IoVec { Base = p, Len = (nuint)data.Length };
            var msg = new Libc.MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 24 };
            nint n;
            do n = Libc.sendmsg(socket, &msg, 0x4000 /* MSG_NOSIGNAL */);
            while (n < 0 && Errno.Last == Libc.EINTR);
            if (n < 0) throw Errno.Error(what, Errno.Last);
            if (n != data.Length) throw new RuntimeError($"{what}: sent {n} of {data.Length} bytes");
        }
    }

    /// <summary>A connected pair (ours, theirs) for a console socket we serve ourselves.</summary>
    public static (int Ours, int Theirs) Pair()
    {
        int* sv = stackalloc int[2];
        if (Libc.socketpair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, sv) != 0)
            throw Errno.Error("socketpair", Errno.Last);
        return (sv[0], sv[1]);
    }

    /// <summary>Receives one fd sent with SCM_RIGHTS; -1 when the peer closed without sending.</summary>
    public static int ReceiveFd(int socket)
    {
        byte* data = stackalloc byte[4096];
        byte* control = stackalloc byte[64];
        var iov = new Libc.IoVec { Base = data, Len = 4096 };
        var msg = new Libc.MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 64 };
        nint n;
        do n = Libc.recvmsg(socket, &msg, 0x40000000 /* MSG_CMSG_CLOEXEC */);
        while (n < 0 && Errno.Last == Libc.EINTR);
        if (n < 0) throw Errno.Error("receiving the console", Errno.Last);
        if (msg.ControlLen < 20) return -1;
        // struct cmsghdr { size_t len; int level; int type; } followed by the fd.
        int level = *(int*)(control + 8), type = *(int*)(control + 12);
        if (level != Libc.SOL_SOCKET || type != Libc.SCM_RIGHTS) return -1;
        return *(int*)(control + 16);
    }
}
