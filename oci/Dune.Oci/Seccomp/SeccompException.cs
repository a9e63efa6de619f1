namespace Dune.Oci.Seccomp;

/// <summary>
/// An invalid or unsupported <c>linux.seccomp</c> section. <see cref="Field"/> is the JSON
/// path of the offending value (e.g. <c>linux.seccomp.syscalls[3].action</c>) and the
/// message starts with it, so the CLI can print it as is.
/// </summary>
public sealed class SeccompException : Exception
{
    public SeccompException(string field, string detail)
        : base(field.Length == 0 ? detail : $"{field}: {detail}")
    {
        Field = field;
        Detail = detail;
    }

    public string Field { get; }

    public string Detail { get; }
}
