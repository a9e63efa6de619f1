using System.Buffers.Binary;

namespace Dune.Oci.Seccomp;

/// <summary>Classic BPF opcodes used by the seccomp compiler (linux/filter.h).</summary>
internal static class Bpf
{
    public const ushort LdWAbs = 0x00 | 0x00 | 0x20;  // BPF_LD | BPF_W | BPF_ABS
    public const ushort AndK = 0x04 | 0x50 | 0x00;    // BPF_ALU | BPF_AND | BPF_K
    public const ushort Ja = 0x05 | 0x00;             // BPF_JMP | BPF_JA
    public const ushort JeqK = 0x05 | 0x10 | 0x00;    // BPF_JMP | BPF_JEQ | BPF_K
    public const ushort JgtK = 0x05 | 0x20 | 0x00;    // BPF_JMP | BPF_JGT | BPF_K
    public const ushort JgeK = 0x05 | 0x30 | 0x00;    // BPF_JMP | BPF_JGE | BPF_K
    public const ushort RetK = 0x06 | 0x00;           // BPF_RET | BPF_K
}

/// <summary>
/// Emits a classic BPF program back to front. Every jump target is emitted before the
/// jump, so a label is simply "the n-th instruction from the end" and never moves.
/// Conditional jumps reach only 255 instructions forward; a farther target gets a copy of
/// its <c>ret</c> or a <c>ja</c> placed right before the jump, which is how large rule
/// sets stay correct without a relaxation pass.
/// </summary>
internal sealed class BpfBuilder
{
    private readonly record struct Insn(ushort Code, byte Jt, byte Jf, uint K);

    private readonly List<Insn> _reversed = new();
    private readonly Dictionary<uint, int> _retLabels = new();

    public int Count => _reversed.Count;

    /// <summary>A label for <c>ret k</c>, shared while it is in reach.</summary>
    public int Ret(uint k)
    {
        if (_retLabels.TryGetValue(k, out int label) && Distance(label) <= byte.MaxValue)
            return label;
        return EmitRet(k);
    }

    /// <summary>A conditional jump on the accumulator; returns its label.</summary>
    public int Jump(ushort code, uint k, int whenTrue, int whenFalse)
    {
        if (whenTrue == whenFalse)
            return whenTrue;
        if (Distance(whenFalse) > byte.MaxValue)
            whenFalse = Near(whenFalse);
        if (Distance(whenTrue) > byte.MaxValue)
        {
            whenTrue = Near(whenTrue);
            if (Distance(whenFalse) > byte.MaxValue)
                whenFalse = Near(whenFalse);
        }
        return Add(new Insn(code, (byte)Distance(whenTrue), (byte)Distance(whenFalse), k));
    }

    /// <summary>A non-jump instruction (load, ALU) that falls through to <paramref name="next"/>.</summary>
    public int Statement(ushort code, uint k, int next)
    {
        if (Distance(next) != 0)
            Near(next);
        return Add(new Insn(code, 0, 0, k));
    }

    /// <summary>The finished program; <paramref name="entry"/> must be the last label emitted.</summary>
    public byte[] ToBytes(int entry)
    {
        if (entry != _reversed.Count - 1)
            throw new InvalidOperationException("the entry point must be the last emitted instruction");
        var bytes = new byte[_reversed.Count * SeccompProgram.InstructionSize];
        for (int i = 0; i < _reversed.Count; i++)
        {
            Insn insn = _reversed[_reversed.Count - 1 - i];
            Span<byte> slot = bytes.AsSpan(i * SeccompProgram.InstructionSize, SeccompProgram.InstructionSize);
            BinaryPrimitives.WriteUInt16LittleEndian(slot, insn.Code);
            slot[2] = insn.Jt;
            slot[3] = insn.Jf;
            BinaryPrimitives.WriteUInt32LittleEndian(slot[4..], insn.K);
        }
        return bytes;
    }

    // How many instructions a jump emitted now would skip to reach the label.
    private int Distance(int label) => _reversed.Count - label - 1;

    // A label adjacent to the next instruction that behaves like the given one.
    private int Near(int label)
    {
        Insn target = _reversed[label];
        if (target.Code == Bpf.RetK)
            return EmitRet(target.K);
        return Add(new Insn(Bpf.Ja, 0, 0, (uint)Distance(label)));
    }

    private int EmitRet(uint k)
    {
        int label = Add(new Insn(Bpf.RetK, 0, 0, k));
        _retLabels[k] = label;
        return label;
    }

    private int Add(Insn insn)
    {
        _reversed.Add(insn);
        return _reversed.Count - 1;
    }
}
