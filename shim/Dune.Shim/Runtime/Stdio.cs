using Tmds.Linux;
using Dune.Interop;
using Dune.Shim.Interop;

namespace Dune.Shim.Runtime;

/// <summary>
/// The three fds a process gets as stdin, stdout, stderr, opened from the FIFOs containerd
/// names (or /dev/null). The shim closes its copies once the process has them, so that the
/// reader sees end-of-file when the container's process is done. stdin goes through a
/// <see cref="StdinCopier"/>, which the process record keeps until CloseIO or exit.
/// </summary>
internal sealed class Stdio : IDisposable
{
    public int In { get; private set; } = -1;
    public int Out { get; private set; } = -1;
    public int Err { get; private set; } = -1;

    /// <summary>The copier from the stdin FIFO, if there is one.</summary>
    public StdinCopier? StdinCopier { get; private set; }

    public static Stdio DevNull()
    {
        var io = new Stdio();
        try
        {
            io.In = OpenOrThrow("/dev/null", LibC.O_RDONLY);
            io.Out = OpenOrThrow("/dev/null", LibC.O_WRONLY);
            io.Err = OpenOrThrow("/dev/null", LibC.O_WRONLY);
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
                (io.StdinCopier, io.In) = StdinCopier.Start(stdin);
            }
            else
            {
                io.In = OpenOrThrow("/dev/null", LibC.O_RDONLY);
            }
            // O_RDWR never blocks on a FIFO, whether or not containerd's reader is there yet.
            io.Out = OpenOrThrow(stdout.Length > 0 ? stdout : "/dev/null", stdout.Length > 0 ? LibC.O_RDWR : LibC.O_WRONLY);
            io.Err = OpenOrThrow(stderr.Length > 0 ? stderr : "/dev/null", stderr.Length > 0 ? LibC.O_RDWR : LibC.O_WRONLY);
            return io;
        }
        catch
        {
            io.Dispose();
            throw;
        }
    }

    /// <summary>Hands the stdin copier to the caller (who closes it at CloseIO or exit).</summary>
    public StdinCopier? TakeStdinCopier()
    {
        var copier = StdinCopier;
        StdinCopier = null;
        return copier;
    }

    private static int OpenOrThrow(string path, int flags)
    {
        int fd = PathCalls.Open(path, flags | LibC.O_CLOEXEC, 0);
        if (fd < 0) throw NativeException.Last($"open {path}");
        return fd;
    }

    public void Dispose()
    {
        foreach (var fd in new[] { In, Out, Err })
            if (fd >= 0) LibC.close(fd);
        In = Out = Err = -1;
        StdinCopier?.Close();
        StdinCopier = null;
    }
}
