namespace Dune.Oci.Lifecycle;

/// <summary>The flags of `create` (and of `run`).</summary>
public sealed record CreateRequest
{
    public required string Id { get; init; }
    public required string Bundle { get; init; }
    public string? PidFile { get; init; }
    public string? ConsoleSocket { get; init; }
    public bool NoPivot { get; init; }
    public bool NoNewKeyring { get; init; }
    public int PreserveFds { get; init; }
    /// <summary>Set by `run` in the foreground: a terminal is served by dune itself (console fd ours).</summary>
    public int OwnConsoleSocket { get; init; } = -1;
}
