using Dune.Oci.Spec;

namespace Dune.Oci.Lifecycle;

/// <summary>The flags of `exec`, already merged into an OCI process.</summary>
public sealed record ExecRequest
{
    public required string Id { get; init; }
    public required Process Process { get; init; }
    public bool Detach { get; init; }
    public string? PidFile { get; init; }
    public string? ConsoleSocket { get; init; }
    public int PreserveFds { get; init; }
}
