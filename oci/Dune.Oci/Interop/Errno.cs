using System.Runtime.InteropServices;

namespace Dune.Oci.Interop;

internal static class Errno
{
    public static int Last => Marshal.GetLastPInvokeError();

    public static unsafe string Describe(int errno) =>
        Marshal.PtrToStringUTF8(Libc.strerror(errno)) ?? $"errno {errno}";

    /// <summary>An exception for a failed native call: "what: strerror".</summary>
    public static RuntimeError Error(string what, int errno) => new($"{what}: {Describe(errno)}", errno);
}
