using Dune.Interop;
namespace Dune.Oci.Interop;

/// <summary>Terminal modes and raw fd I/O for dune's own console proxy.</summary>
public static unsafe class NativeTerminal
{
    public static bool IsTerminal(int fd) => Libc.isatty(fd) == 1;

    /// <summary>Puts fd in raw mode; returns the previous termios to restore.</summary>
    public static byte[] MakeRaw(int fd)
    {
        var saved = new byte[64];
        fixed (byte* s = saved)
        {
            if (Libc.tcgetattr(fd, s) != 0) return saved;
            byte* raw = stackalloc byte[64];
            Buffer.MemoryCopy(s, raw, 64, 64);
            Libc.cfmakeraw(raw);
            Libc.tcsetattr(fd, 0, raw);
        }
        return saved;
    }

    public static void Restore(int fd, byte[] termios)
    {
        fixed (byte* s = termios) Libc.tcsetattr(fd, 0, s);
    }

    public static void CopySize(int from, int to)
    {
        Libc.WinSize ws;
        if (Libc.ioctl(from, Libc.TIOCGWINSZ, &ws) == 0) Libc.ioctl(to, Libc.TIOCSWINSZ, &ws);
    }

    public static nint Read(int fd, byte* buf, nint len)
    {
        while (true)
        {
            nint n = Libc.read(fd, buf, len);
            if (n < 0 && Errno.Last == Libc.EINTR) continue;
            return n;
        }
    }

    public static nint Write(int fd, byte* buf, nint len)
    {
        while (true)
        {
            nint n = Libc.write(fd, buf, len);
            if (n < 0 && Errno.Last == Libc.EINTR) continue;
            return n;
        }
    }

    public static void Close(int fd) => Libc.close(fd);

    /// <summary>A socket pair whose second end dune-init uses as its console socket.</summary>
    public static (int Ours, int Theirs) ConsolePair() => UnixSocket.Pair();

    public static int ReceiveMaster(int socket) => FdPassing.Receive(socket, "receiving the console");
}
