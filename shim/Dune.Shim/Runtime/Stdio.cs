using Dune.Shim.Interop;

namespace Dune.Shim.Runtime;

/// <summary>
/// The three fds a process gets as stdin, stdout, stderr, opened from the FIFOs containerd
/// names (or /dev/null). The shim closes its copies once the process has them, so that the
/// reader sees end-of-file when the container's process is done; for stdin it keeps a
/// writer open until CloseIO, so the process does not see end-of-file before the client
/// has even connected.
/// </summary>
internal sealed class Stdio : IDisposable
{
    public int In { get; private set; } = -1;
    public int Out { get; private set; } = -1;
    public int Err { get; private set; } = -1;

    /// <summary>A writer on the stdin FIFO, held until CloseIO (or the process's exit).</summary>
    public int StdinHolder { get; private set; } = -1;

    public static Stdio DevNull()
    {
        var io = new Stdio();
        try
        {
            io.In = OpenOrThrow("/dev/null", Libc.O_RDONLY);
            io.Out = OpenOrThrow("/dev/null", Libc.O_WRONLY);
            io.Err = OpenOrThrow("/dev/null", Libc.O_WRONLY);
            return io;
        }
        catch
        {
            io.Dispose();
            throw;
        }
    }

    public static Stdio Open(string stdin, string stdout, string stderr)
    {
        var io = new Stdio();
        try
        {
            if (stdin.Length > 0)
            {
                // Non-blocking open of the read end succeeds without a writer; then hold a writer.
                io.In = OpenOrThrow(stdin, Libc.O_RDONLY | Libc.O_NONBLOCK);
                io.StdinHolder = OpenOrThrow(stdin, Libc.O_WRONLY);
                int flags = Libc.fcntl(io.In, Libc.F_GETFL, 0);
                if (flags < 0 || Libc.fcntl(io.In, Libc.F_SETFL, flags & ~Libc.O_NONBLOCK) < 0)
                    throw NativeException.Last($"fcntl {stdin}");
            }
            else
            {
                io.In = OpenOrThrow("/dev/null", Libc.O_RDONLY);
            }
            // O_RDWR never blocks on a FIFO, whether or not containerd's reader is there yet.
            io.Out = OpenOrThrow(stdout.Length > 0 ? stdout : "/dev/null", stdout.Length > 0 ? Libc.O_RDWR : Libc.O_WRONLY);
            io.Err = OpenOrThrow(stderr.Length > 0 ? stderr : "/dev/null", stderr.Length > 0 ? Libc.O_RDWR : Libc.O_WRONLY);
            return io;
        }
        catch
        {
            io.Dispose();
            throw;
        }
    }

    /// <summary>Hands the stdin writer to the caller (who closes it at CloseIO).</summary>
    public int TakeStdinHolder()
    {
        int fd = StdinHolder;
        StdinHolder = -1;
        return fd;
    }

    private static int OpenOrThrow(string path, int flags)
    {
        int fd = Libc.open(path, flags | Libc.O_CLOEXEC, 0);
        if (fd < 0) throw NativeException.Last($"open {path}");
        return fd;
    }

    public void Dispose()
    {
        foreach (var fd in new[] { In, Out, Err, StdinHolder })
            if (fd >= 0) Libc.close(fd);
        In = Out = Err = StdinHolder = -1;
    }
}
