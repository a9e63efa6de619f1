using System.Buffers.Binary;

namespace Dune.Oci.Tests.Cgroups;

/// <summary>
/// Runs a BPF_PROG_TYPE_CGROUP_DEVICE program on a struct bpf_cgroup_dev_ctx, the way the kernel
/// would: only the opcodes the device program compiler emits are known (anything else fails the
/// test), registers are 64-bit, 32-bit ALU operations zero the upper half, BPF_JMP32 compares the
/// lower halves, loads must stay inside the 12-byte context, and like the verifier it refuses
/// reading a register never written and jumps out of the program.
/// </summary>
internal static class EbpfInterpreter
{
    public static int Run(byte[] program, uint accessType, uint major, uint minor)
    {
        Assert(program.Length % 8 == 0 && program.Length > 0, "program length is not a multiple of 8");
        int count = program.Length / 8;
        var ctx = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(ctx.AsSpan(0), accessType);
        BinaryPrimitives.WriteUInt32LittleEndian(ctx.AsSpan(4), major);
        BinaryPrimitives.WriteUInt32LittleEndian(ctx.AsSpan(8), minor);
        const ulong CtxBase = 0x10000;
        var r = new ulong[11];
        var written = new bool[11];
        r[1] = CtxBase; written[1] = true;
        r[10] = 0x7fff0000; written[10] = true; // frame pointer, never used
        int pc = 0;
        for (int steps = 0; steps < 4096; steps++)
        {
            Assert(pc >= 0 && pc < count, $"pc {pc} outside the program");
            var insn = program.AsSpan(pc * 8, 8);
            byte op = insn[0];
            int dst = insn[1] & 0xf, src = insn[1] >> 4;
            short off = BinaryPrimitives.ReadInt16LittleEndian(insn.Slice(2));
            int imm = BinaryPrimitives.ReadInt32LittleEndian(insn.Slice(4));
            Assert(dst <= 10 && src <= 10, $"register out of range at {pc}");
            ulong Read(int reg)
            {
                Assert(written[reg], $"r{reg} read before it was written (at {pc})");
                return r[reg];
            }
            void Write(int reg, ulong v)
            {
                Assert(reg != 10, "r10 is read-only");
                r[reg] = v;
                written[reg] = true;
            }
            pc++;
            switch (op)
            {
                case 0x61: // BPF_LDX | BPF_MEM | BPF_W
                {
                    ulong addr = Read(src) + (ulong)(long)off;
                    Assert(addr >= CtxBase && addr + 4 <= CtxBase + 12 && (addr - CtxBase) % 4 == 0, $"load outside bpf_cgroup_dev_ctx at {pc - 1}");
                    Write(dst, BinaryPrimitives.ReadUInt32LittleEndian(ctx.AsSpan((int)(addr - CtxBase))));
                    break;
                }
                case 0x54: Write(dst, (uint)Read(dst) & (uint)imm); break; // BPF_ALU | BPF_AND | BPF_K
                case 0x74: // BPF_ALU | BPF_RSH | BPF_K
                    Assert(imm is >= 0 and < 32, "shift out of range");
                    Write(dst, (uint)Read(dst) >> imm);
                    break;
                case 0xb4: Assert(src == 0, "src set on mov imm"); Write(dst, (uint)imm); break; // BPF_ALU | BPF_MOV | BPF_K
                case 0xbc: Write(dst, (uint)Read(src)); break;    // BPF_ALU | BPF_MOV | BPF_X
                case 0x56: if ((uint)Read(dst) != (uint)imm) pc = JumpTarget(pc, off, count); break; // BPF_JMP32 | BPF_JNE | BPF_K
                case 0x16: if ((uint)Read(dst) == (uint)imm) pc = JumpTarget(pc, off, count); break; // BPF_JMP32 | BPF_JEQ | BPF_K
                case 0x46: if (((uint)Read(dst) & (uint)imm) != 0) pc = JumpTarget(pc, off, count); break; // BPF_JMP32 | BPF_JSET | BPF_K
                case 0x95: // BPF_JMP | BPF_EXIT
                {
                    ulong ret = Read(0);
                    Assert(ret is 0 or 1, $"a device program returns 0 or 1, not {ret}");
                    return (int)ret;
                }
                default:
                    throw new InvalidOperationException($"opcode 0x{op:x2} at {pc - 1} is not one the device program may use");
            }
        }
        throw new InvalidOperationException("program did not exit within 4096 steps");
    }

    private static int JumpTarget(int next, short off, int count)
    {
        int target = next + off;
        Assert(off >= 0, "backward jump (the verifier refuses loops)");
        Assert(target < count, $"jump to {target} past the end ({count} instructions)");
        return target;
    }

    private static void Assert(bool condition, string message)
    {
        if (!condition) throw new InvalidOperationException(message);
    }
}
