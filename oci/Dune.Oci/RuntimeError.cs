using Dune.Interop;

namespace Dune.Oci;

/// <summary>
/// A failure the user must see: its message is what `dune` prints and logs (and what
/// containerd shows), so it names the container, the file or the field concerned. It is a
/// <see cref="NativeException"/>: when a system call is the cause it carries the errno, which
/// the JSON log records for the shim.
/// </summary>
public class RuntimeError : NativeException
{
    public RuntimeError(string message, int errno = 0) : base(message, errno) { }
    public RuntimeError(string message, Exception inner) : base(message, inner) { }

    /// <summary>A failed system call: "what: strerror(errno)", carrying the errno.</summary>
    public static RuntimeError OfErrno(string what, int errno) => new($"{what}: {Describe(errno)}", errno);
}
