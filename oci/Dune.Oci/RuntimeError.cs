namespace Dune.Oci;

/// <summary>
/// A failure the user must see: its message is what `dune` prints and logs (and what
/// containerd shows), so it names the container, the file or the field concerned.
/// </summary>
public class RuntimeError : Exception
{
    public int Errno { get; }
    public RuntimeError(string message, int errno = 0) : base(message) => Errno = errno;
    public RuntimeError(string message, Exception inner) : base(message, inner) { }
}
