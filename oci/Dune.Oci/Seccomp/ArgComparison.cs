namespace Dune.Oci.Seccomp;

/// <summary>
/// BPF for one argument test. Classic BPF has a 32-bit accumulator and unsigned compares,
/// so a 64-bit argument is compared high word first and the low word decides only when
/// the high words are equal. On 32-bit ABIs only the low word is compared, against the
/// value truncated to 32 bits (libseccomp's behaviour).
/// </summary>
internal static class ArgComparison
{
    /// <summary>Emits the test and returns its entry label; control goes to
    /// <paramref name="match"/> or <paramref name="noMatch"/>.</summary>
    public static int Emit(BpfBuilder b, ArgCondition c, bool wide, int match, int noMatch)
    {
        return c.Op switch
        {
            ArgOp.Equal => Equal(b, c, wide, match, noMatch),
            ArgOp.NotEqual => Equal(b, c, wide, noMatch, match),
            ArgOp.GreaterThan => Greater(b, c, wide, Bpf.JgtK, match, noMatch),
            ArgOp.GreaterOrEqual => Greater(b, c, wide, Bpf.JgeK, match, noMatch),
            ArgOp.LessOrEqual => Greater(b, c, wide, Bpf.JgtK, noMatch, match),  // not (>)
            ArgOp.LessThan => Greater(b, c, wide, Bpf.JgeK, noMatch, match),     // not (>=)
            ArgOp.MaskedEqual => MaskedEqual(b, c, wide, match, noMatch),
            _ => throw new ArgumentOutOfRangeException(nameof(c)),
        };
    }

    private static uint Low(ulong v) => (uint)v;

    private static uint High(ulong v) => (uint)(v >> 32);

    private static int LoadLow(BpfBuilder b, ArgCondition c, int next) =>
        b.Statement(Bpf.LdWAbs, SeccompDataLayout.ArgLow(c.Index), next);

    private static int LoadHigh(BpfBuilder b, ArgCondition c, int next) =>
        b.Statement(Bpf.LdWAbs, SeccompDataLayout.ArgHigh(c.Index), next);

    private static int Equal(BpfBuilder b, ArgCondition c, bool wide, int yes, int no)
    {
        int low = LoadLow(b, c, b.Jump(Bpf.JeqK, Low(c.Value), yes, no));
        if (!wide)
            return low;
        return LoadHigh(b, c, b.Jump(Bpf.JeqK, High(c.Value), low, no));
    }

    // arg > value (jgt) or arg >= value (jge), unsigned.
    private static int Greater(BpfBuilder b, ArgCondition c, bool wide, ushort lowJump, int yes, int no)
    {
        int low = LoadLow(b, c, b.Jump(lowJump, Low(c.Value), yes, no));
        if (!wide)
            return low;
        int highEqual = b.Jump(Bpf.JeqK, High(c.Value), low, no);
        return LoadHigh(b, c, b.Jump(Bpf.JgtK, High(c.Value), yes, highEqual));
    }

    // (arg & mask) == (expected & mask): libseccomp masks the expected value too, so bits
    // of it outside the mask are ignored rather than making the test unsatisfiable.
    private static int MaskedEqual(BpfBuilder b, ArgCondition c, bool wide, int yes, int no)
    {
        ulong mask = c.Value, expected = c.ValueTwo & mask;
        int low = LoadLow(b, c, b.Statement(Bpf.AndK, Low(mask), b.Jump(Bpf.JeqK, Low(expected), yes, no)));
        if (!wide)
            return low;
        if (High(mask) == 0)
            return low;  // both high words are 0 after masking
        int highCheck = b.Jump(Bpf.JeqK, High(expected), low, no);
        return LoadHigh(b, c, b.Statement(Bpf.AndK, High(mask), highCheck));
    }
}
