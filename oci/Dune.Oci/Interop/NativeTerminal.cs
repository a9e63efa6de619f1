using Tmds.Linux;
using Dune.Interop;
namespace Dune.Oci.Interop;

/// <summary>Terminal modes and raw fd I/O for dune's own console proxy.</summary>
public static unsafe class NativeTerminal
{
    public static bool IsTerminal(int fd) => LibC.isatty(fd) == 1;

    /// <summary>Puts fd in raw mode; returns the previous termios to restore.</summary>
    public static byte[] MakeRaw(int fd)
    {
        var saved = new byte[64];
        fixed (byte* s = saved)
        {
            if (LibC.tcgetattr(fd, (termios*)s) != 0) return saved;
            byte* raw = stackalloc byte[64];
            Buffer.MemoryCopy(s, raw, 64, 64);
            NativeCalls.cfmakeraw(raw);
            LibC.tcsetattr(fd, 0, (termios*)raw);
        }
        return saved;
    }

    public static void Restore(int fd, byte[] termios)
    {
        fixed (byte* s = termios) LibC.tcsetattr(fd, 0, (termios*)s);
    }

    public static void CopySize(int from, int to)
    {
        winsize ws;
        if (LibC.ioctl(from, LibC.TIOCGWINSZ, &ws) == 0) LibC.ioctl(to, LibC.TIOCSWINSZ, &ws);
    }

    public static nint Read(int fd, byte* buf, nint len)
    {
        while (true)
        {
            nint n = (nint)LibC.read(fd, buf, (size_t)len);
            if (n < 0 && NativeException.LastErrno == LibC.EINTR) continue;
            return n;
        }
    }

    public static nint Write(int fd, byte* buf, nint len)
    {
        while (true)
        {
            nint n = (nint)LibC.write(fd, buf, (size_t)len);
            if (n < 0 && NativeException.LastErrno == LibC.EINTR) continue;
            return n;
        }
    }

    public static void Close(int fd) => LibC.close(fd);

    /// <summary>A socket pair whose second end dune-init uses as its console socket.</summary>
    public static (int Ours, int Theirs) ConsolePair() => UnixSocket.Pair();

    public static int ReceiveMaster(int socket) => FdPassing.Receive(socket, "receiving the console");
}
