using Tmds.Linux;
using Dune.Interop;
using Dune.Shim.Interop;

namespace Dune.Shim.Runtime;

/// <summary>
/// A process's terminal as the shim serves it: the master fd the runtime sent, stdin FIFO
/// into the master, the master into the stdout FIFO until the last slave closes (EIO), and
/// window size changes (ResizePty).
/// </summary>
internal sealed unsafe class TerminalIo
{
    private int _master;
    private readonly StdinCopier? _stdin;

    private TerminalIo(int master, StdinCopier? stdin)
    {
        _master = master;
        _stdin = stdin;
    }

    /// <summary>Starts copying; owns MASTER from here on.</summary>
    public static TerminalIo Start(int master, string stdin, string stdout)
    {
        StdinCopier? input = null;
        try
        {
            if (stdin.Length > 0)
            {
                int dup = LibC.fcntl(master, LibC.F_DUPFD_CLOEXEC, 0);
                if (dup < 0) throw NativeException.Last("dup terminal master");
                input = StdinCopier.Start(stdin, dup);
            }
            int output = stdout.Length > 0 ? PathCalls.Open(stdout, LibC.O_RDWR | LibC.O_CLOEXEC, 0) : -1;
            if (stdout.Length > 0 && output < 0) throw NativeException.Last($"open {stdout}");
            var io = new TerminalIo(master, input);
            new Thread(() => io.CopyOut(output)) { IsBackground = true, Name = "tty-out" }.Start();
            return io;
        }
        catch
        {
            input?.Close();
            LibC.close(master);
            throw;
        }
    }

    public void Resize(uint width, uint height)
    {
        var size = new winsize { ws_col = (ushort)width, ws_row = (ushort)height };
        int master = Volatile.Read(ref _master);
        if (master < 0) return;
        if (LibC.ioctl(master, LibC.TIOCSWINSZ, &size) != 0) throw NativeException.Last("TIOCSWINSZ");
    }

    public void CloseStdin() => _stdin?.Close();

    private void CopyOut(int output)
    {
        var buffer = new byte[32 * 1024];
        try
        {
            while (true)
            {
                nint n;
                fixed (byte* p = buffer) n = (nint)LibC.read(_master, p, (size_t)buffer.Length);
                if (n < 0 && NativeException.LastErrno == LibC.EINTR) continue;
                if (n <= 0) return; // EIO: every slave is closed, the processes are gone
                if (output < 0) continue;
                int done = 0;
                fixed (byte* p = buffer)
                {
                    while (done < n)
                    {
                        nint w = (nint)LibC.write(output, p + done, (size_t)(n - done));
                        if (w < 0)
                        {
                            if (NativeException.LastErrno == LibC.EINTR) continue;
                            return;
                        }
                        done += (int)w;
                    }
                }
            }
        }
        finally
        {
            _stdin?.Close();
            if (output >= 0) LibC.close(output);
            LibC.close(Interlocked.Exchange(ref _master, -1));
        }
    }
}
