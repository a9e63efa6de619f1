using Tmds.Linux;
using Dune.Interop;
using Microsoft.Win32.SafeHandles;

namespace Dune.Shim.Interop;

/// <summary>Close-on-exec pipes and streams over raw fds.</summary>
internal static unsafe class Pipes
{
    public static (int Read, int Write) Create()
    {
        int* fds = stackalloc int[2];
        if (LibC.pipe2(fds, LibC.O_CLOEXEC) != 0) throw NativeException.Last("pipe2");
        return (fds[0], fds[1]);
    }

    /// <summary>A stream that owns FD (closed with the stream).</summary>
    public static FileStream ReaderStream(int fd) =>
        new(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, 1, isAsync: false);
}
