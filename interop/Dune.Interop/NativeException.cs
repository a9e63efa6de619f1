using System.Runtime.InteropServices;

namespace Dune.Interop;

/// <summary>
/// A failed native call: its message says what was attempted and strerror(errno), and it
/// carries the errno so callers decide on the number (ENOENT, ESRCH...), never on the text.
/// </summary>
public class NativeException : Exception
{
    /// <summary>The errno of the failure; 0 when the failure has no errno.</summary>
    public int Errno { get; }

    /// <summary>A failure with a complete message (no strerror appended).</summary>
    public NativeException(string message, int errno) : base(message) => Errno = errno;

    public NativeException(string message, Exception inner) : base(message, inner) { }

    /// <summary>"what: strerror(errno)".</summary>
    public static NativeException Of(string what, int errno) => new($"{what}: {Describe(errno)}", errno);

    /// <summary>The failure of the native call that just returned -1 (errno from SetLastError).</summary>
    public static NativeException Last(string what) => Of(what, LastErrno);

    /// <summary>errno of the last P/Invoke made with SetLastError (all of Tmds.LibC's and ours).</summary>
    public static int LastErrno => Marshal.GetLastPInvokeError();

    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
