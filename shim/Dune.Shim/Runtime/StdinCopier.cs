using Tmds.Linux;
using Dune.Interop;
using Dune.Shim.Interop;

namespace Dune.Shim.Runtime;

/// <summary>
/// Feeds a process's stdin from containerd's stdin FIFO through a pipe (or into a terminal's
/// master), so that the process
/// sees end-of-file when the client closes its end (poll reports the hang-up only after a
/// writer came and went, never before the client connects), or at CloseIO.
/// </summary>
internal sealed unsafe class StdinCopier
{
    private readonly int _fifo, _target, _wakeRead;
    private int _wakeWrite;

    private StdinCopier(int fifo, int target, int wakeRead, int wakeWrite)
    {
        _fifo = fifo;
        _target = target;
        _wakeRead = wakeRead;
        _wakeWrite = wakeWrite;
    }

    /// <summary>Opens FIFO and returns the copier and the pipe's read end for the child (the caller closes it after spawning).</summary>
    public static (StdinCopier Copier, int ChildEnd) Start(string fifoPath)
    {
        var (read, write) = Pipes.Create();
        try
        {
            return (Start(fifoPath, write), read);
        }
        catch
        {
            LibC.close(read);
            throw;
        }
    }

    /// <summary>Copies FIFO into TARGET (a terminal's master, say); the copier owns TARGET.</summary>
    public static StdinCopier Start(string fifoPath, int target)
    {
        int fifo = PathCalls.Open(fifoPath, LibC.O_RDONLY | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0);
        if (fifo < 0)
        {
            LibC.close(target);
            throw NativeException.Last($"open {fifoPath}");
        }
        (int Read, int Write) wake;
        try
        {
            wake = Pipes.Create();
        }
        catch
        {
            LibC.close(fifo);
            LibC.close(target);
            throw;
        }
        var copier = new StdinCopier(fifo, target, wake.Read, wake.Write);
        new Thread(copier.Loop) { IsBackground = true, Name = "stdin" }.Start();
        return copier;
    }

    /// <summary>Ends the copy (CloseIO, or the process is gone); idempotent.</summary>
    public void Close()
    {
        int fd = Interlocked.Exchange(ref _wakeWrite, -1);
        if (fd < 0) return;
        byte b = 1;
        LibC.write(fd, &b, 1);
        LibC.close(fd);
    }

    private void Loop()
    {
        var buffer = new byte[32 * 1024];
        var fds = stackalloc pollfd[2];
        try
        {
            while (true)
            {
                fds[0] = new pollfd { fd = _fifo, events = LibC.POLLIN };
                fds[1] = new pollfd { fd = _wakeRead, events = LibC.POLLIN };
                if (LibC.poll(fds, 2, -1) < 0)
                {
                    if (NativeException.LastErrno == LibC.EINTR) continue;
                    return;
                }
                if (fds[1].revents != 0) return;
                if (((ushort)fds[0].revents & ((ushort)LibC.POLLIN | (ushort)LibC.POLLHUP | (ushort)LibC.POLLERR | (ushort)LibC.POLLNVAL)) == 0) continue;
                nint n;
                fixed (byte* p = buffer) n = (nint)LibC.read(_fifo, p, (size_t)buffer.Length);
                if (n == 0) return; // the client closed its end
                if (n < 0)
                {
                    int errno = NativeException.LastErrno;
                    if (errno == LibC.EAGAIN || errno == LibC.EINTR) continue;
                    return;
                }
                if (!WriteAll(buffer, (int)n)) return; // the process is gone
            }
        }
        finally
        {
            LibC.close(_fifo);
            LibC.close(_target);
            LibC.close(_wakeRead);
        }
    }

    private bool WriteAll(byte[] buffer, int count)
    {
        int done = 0;
        fixed (byte* p = buffer)
        {
            while (done < count)
            {
                nint w = (nint)LibC.write(_target, p + done, (size_t)(count - done));
                if (w < 0)
                {
                    if (NativeException.LastErrno == LibC.EINTR) continue;
                    return false;
                }
                done += (int)w;
            }
        }
        return true;
    }
}
