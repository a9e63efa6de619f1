namespace Dune.Oci.Cgroups;

/// <summary>A cgroup operation failed; the message names the file and value involved.</summary>
public sealed class CgroupException : Exception
{
    public CgroupException(string message) : base(message) { }
    public CgroupException(string message, Exception inner) : base(message, inner) { }
}
