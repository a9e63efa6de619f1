namespace Dune.Oci.Cgroups;

/// <summary>
/// A minimal eBPF assembler: the few instructions a cgroup device program needs, encoded as the
/// kernel reads struct bpf_insn (opcode, dst_reg in the low and src_reg in the high nibble, a signed
/// 16-bit offset, a signed 32-bit immediate), with forward jumps to labels resolved at the end.
/// Comparisons use the 32-bit jump class (BPF_JMP32, Linux 5.1) so a u32 field compares exactly
/// against any u32 immediate.
/// </summary>
internal sealed class EbpfAssembler
{
    // Instruction classes, sizes, modes, ALU and jump operations (include/uapi/linux/bpf.h, bpf_common.h).
    private const byte BPF_LDX = 0x01, BPF_ALU = 0x04, BPF_JMP = 0x05, BPF_JMP32 = 0x06;
    private const byte BPF_W = 0x00, BPF_MEM = 0x60;
    private const byte BPF_K = 0x00, BPF_X = 0x08;
    private const byte BPF_AND = 0x50, BPF_RSH = 0x70, BPF_MOV = 0xb0;
    private const byte BPF_JEQ = 0x10, BPF_JSET = 0x40, BPF_JNE = 0x50, BPF_EXIT = 0x90;

    /// <summary>A jump target; placed with <see cref="Mark"/>.</summary>
    public sealed class Label
    {
        internal int Position = -1;
    }

    private readonly List<(byte Code, byte Dst, byte Src, short Off, int Imm)> _code = new();
    private readonly List<(int At, Label Target)> _jumps = new();

    public int Count => _code.Count;

    /// <summary>dst = *(u32 *)(src + off)</summary>
    public void LoadWord(byte dst, byte src, short off) => Emit((byte)(BPF_LDX | BPF_MEM | BPF_W), dst, src, off, 0);

    /// <summary>dst = (u32)dst &amp; imm</summary>
    public void And32(byte dst, int imm) => Emit((byte)(BPF_ALU | BPF_AND | BPF_K), dst, 0, 0, imm);

    /// <summary>dst = (u32)dst &gt;&gt; imm</summary>
    public void RightShift32(byte dst, int imm) => Emit((byte)(BPF_ALU | BPF_RSH | BPF_K), dst, 0, 0, imm);

    /// <summary>dst = (u32)imm</summary>
    public void Move32(byte dst, int imm) => Emit((byte)(BPF_ALU | BPF_MOV | BPF_K), dst, 0, 0, imm);

    /// <summary>dst = (u32)src</summary>
    public void Move32Register(byte dst, byte src) => Emit((byte)(BPF_ALU | BPF_MOV | BPF_X), dst, src, 0, 0);

    /// <summary>if ((u32)dst != (u32)imm) goto target</summary>
    public void JumpIfNotEqual32(byte dst, uint imm, Label target) => Jump(BPF_JNE, dst, imm, target);

    /// <summary>if ((u32)dst == (u32)imm) goto target</summary>
    public void JumpIfEqual32(byte dst, uint imm, Label target) => Jump(BPF_JEQ, dst, imm, target);

    /// <summary>if ((u32)dst &amp; (u32)imm) goto target</summary>
    public void JumpIfAnySet32(byte dst, uint imm, Label target) => Jump(BPF_JSET, dst, imm, target);

    /// <summary>return r0</summary>
    public void Exit() => Emit((byte)(BPF_JMP | BPF_EXIT), 0, 0, 0, 0);

    /// <summary>Places <paramref name="label"/> at the next instruction.</summary>
    public void Mark(Label label)
    {
        if (label.Position >= 0) throw new InvalidOperationException("eBPF label placed twice");
        label.Position = _code.Count;
    }

    private void Jump(byte op, byte dst, uint imm, Label target)
    {
        _jumps.Add((_code.Count, target));
        Emit((byte)(BPF_JMP32 | op | BPF_K), dst, 0, 0, unchecked((int)imm));
    }

    private void Emit(byte code, byte dst, byte src, short off, int imm)
    {
        if (dst > 10 || src > 10) throw new ArgumentOutOfRangeException(nameof(dst), "eBPF has registers r0..r10");
        _code.Add((code, dst, src, off, imm));
    }

    /// <summary>The program as struct bpf_insn[] bytes (little-endian, as the kernel of this x86-64/arm64 host reads it).</summary>
    public byte[] ToBytes()
    {
        var code = _code.ToArray();
        foreach (var (at, target) in _jumps)
        {
            if (target.Position < 0) throw new InvalidOperationException("eBPF jump to a label never placed");
            int offset = target.Position - (at + 1);
            if (offset < 0 || offset > short.MaxValue) throw new InvalidOperationException($"eBPF jump offset {offset} out of range");
            code[at].Off = (short)offset;
        }
        var bytes = new byte[code.Length * 8];
        for (int i = 0; i < code.Length; i++)
        {
            var (op, dst, src, off, imm) = code[i];
            var span = bytes.AsSpan(i * 8, 8);
            span[0] = op;
            span[1] = (byte)(dst | (src << 4));
            System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(span.Slice(2), off);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(span.Slice(4), imm);
        }
        return bytes;
    }
}
