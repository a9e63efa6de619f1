namespace Dune.Oci.Seccomp;

/// <summary>
/// A compiled seccomp filter: the classic BPF program as consecutive little-endian
/// <c>struct sock_filter</c> records (u16 code, u8 jt, u8 jf, u32 k), ready for
/// seccomp(SECCOMP_SET_MODE_FILTER, <see cref="Flags"/>, &amp;sock_fprog).
/// </summary>
public sealed class SeccompProgram
{
    public const int InstructionSize = 8;

    /// <summary>BPF_MAXINSNS: the kernel refuses longer classic BPF programs.</summary>
    public const int MaxInstructions = 4096;

    public SeccompProgram(byte[] filter, SeccompFilterFlags flags, IReadOnlyList<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(warnings);
        if (filter.Length == 0 || filter.Length % InstructionSize != 0)
            throw new ArgumentException("filter must be a non-empty array of 8-byte instructions", nameof(filter));
        Filter = filter;
        Flags = flags;
        Warnings = warnings;
    }

    public byte[] Filter { get; }

    public int InstructionCount => Filter.Length / InstructionSize;

    public SeccompFilterFlags Flags { get; }

    /// <summary>The filter has SCMP_ACT_NOTIFY rules: loading it yields a listener descriptor.</summary>
    public bool HasListener => Flags.HasFlag(SeccompFilterFlags.NewListener);

    /// <summary>Non-fatal findings, e.g. a rule none of whose names is a known syscall.</summary>
    public IReadOnlyList<string> Warnings { get; }
}
