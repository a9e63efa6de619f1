using System.Text;
using Tmds.Linux;

namespace Dune.Interop;

/// <summary>
/// Tmds.LibC's calls that take a path (or memfd_create's name), given a .NET string (UTF-8, NUL-terminated). They
/// return what libc returns; errno is in <see cref="NativeException.LastErrno"/>.
/// </summary>
public static unsafe class PathCalls
{
    public static int Open(string path, int flags, int mode = 0)
    {
        fixed (byte* p = CString(path)) return LibC.open(p, flags, (mode_t)mode);
    }

    public static int Mkdir(string path, uint mode)
    {
        fixed (byte* p = CString(path)) return LibC.mkdir(p, (mode_t)mode);
    }

    public static int Mkfifo(string path, uint mode)
    {
        fixed (byte* p = CString(path)) return LibC.mkfifo(p, (mode_t)mode);
    }

    public static int Mount(string source, string target, string? fstype, ulong flags, string? data)
    {
        fixed (byte* s = CString(source), t = CString(target), f = CString(fstype), d = CString(data))
            return LibC.mount(s, t, f, (ulong_t)flags, d);
    }

    /// <summary>memfd_create: the name is only shown in /proc/PID/fd.</summary>
    public static int MemfdCreate(string name, uint flags)
    {
        fixed (byte* n = CString(name)) return LibC.memfd_create(n, flags);
    }

    public static int Umount2(string target, int flags)
    {
        fixed (byte* t = CString(target)) return LibC.umount2(t, flags);
    }

    /// <summary>The UTF-8 bytes and a NUL; null stays null (a NULL pointer).</summary>
    private static byte[]? CString(string? s)
    {
        if (s is null) return null;
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
