using Dune.Interop;
using Tmds.Linux;
using System.Text;

namespace Dune.Oci.Interop;

/// <summary>Console sockets: connecting to the caller's, and a pair for our own (fd passing: Dune.Interop.FdPassing).</summary>
internal static unsafe class UnixSocket
{
    /// <summary>Connects to the AF_UNIX stream socket at <paramref name="path"/> (--console-socket).</summary>
    public static int Connect(string path) => Connect(path, $"cannot connect to console socket {path}");

    /// <summary>Connects to the AF_UNIX stream socket at <paramref name="path"/>; errors start with <paramref name="failure"/>.</summary>
    public static int Connect(string path, string failure)
    {
        var bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length >= 108) throw new RuntimeError($"{failure}: the socket path is longer than 107 bytes");
        int fd = LibC.socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0) throw RuntimeError.OfErrno("socket", NativeException.LastErrno);
        byte* addr = stackalloc byte[110];
        new Span<byte>(addr, 110).Clear();
        addr[0] = 1; // AF_UNIX
        for (int i = 0; i < bytes.Length; i++) addr[2 + i] = bytes[i];
        if (LibC.connect(fd, (sockaddr*)addr, (socklen_t)(uint)(2 + bytes.Length + 1)) != 0)
        {
            int e = NativeException.LastErrno;
            LibC.close(fd);
            throw RuntimeError.OfErrno(failure, e);
        }
        return fd;
    }

    /// <summary>A connected pair (ours, theirs) for a console socket we serve ourselves.</summary>
    public static (int Ours, int Theirs) Pair()
    {
        int* sv = stackalloc int[2];
        if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, sv) != 0)
            throw RuntimeError.OfErrno("socketpair", NativeException.LastErrno);
        return (sv[0], sv[1]);
    }
}
