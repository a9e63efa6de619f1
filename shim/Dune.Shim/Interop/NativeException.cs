namespace Dune.Shim.Interop;

/// <summary>A failed system call: what was attempted and the errno it returned.</summary>
internal sealed class NativeException(string what, int errno) : Exception($"{what}: {Libc.Describe(errno)}")
{
    public int Errno { get; } = errno;

    public static NativeException Last(string what) => new(what, Libc.LastErrno);
}
