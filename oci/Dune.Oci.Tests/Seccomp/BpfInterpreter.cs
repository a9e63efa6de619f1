using System.Buffers.Binary;
using Xunit;

namespace Dune.Oci.Tests.Seccomp;

/// <summary>struct seccomp_data (linux/seccomp.h) as the kernel hands it to a filter.</summary>
public sealed record SeccompData(uint Nr, uint Arch, ulong InstructionPointer, ulong[] Args)
{
    public byte[] ToBytes()
    {
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(0), Nr);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), Arch);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), InstructionPointer);
        for (int i = 0; i < 6; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16 + 8 * i), i < Args.Length ? Args[i] : 0);
        return bytes;
    }
}

/// <summary>
/// A small classic-BPF interpreter with the rules the kernel's seccomp checker enforces
/// (only absolute 32-bit loads inside seccomp_data, forward jumps inside the program,
/// every path ending in ret), independent of the compiler's code.
/// </summary>
public static class BpfInterpreter
{
    private const ushort Ld = 0x00, Ldx = 0x01, St = 0x02, Stx = 0x03, Alu = 0x04, Jmp = 0x05, Ret = 0x06, Misc = 0x07;

    public static uint Run(byte[] program, SeccompData data) => Run(program, data.ToBytes(), out _);

    public static uint Run(byte[] program, byte[] data, out int executed)
    {
        if (program.Length == 0 || program.Length % 8 != 0)
            throw new InvalidDataException("program length is not a multiple of 8");
        int count = program.Length / 8;
        if (count > 4096)
            throw new InvalidDataException($"{count} instructions exceed BPF_MAXINSNS");
        uint a = 0, x = 0;
        var mem = new uint[16];
        int pc = 0;
        executed = 0;
        while (true)
        {
            if (pc < 0 || pc >= count)
                throw new InvalidDataException($"control fell off the program at {pc}");
            ReadOnlySpan<byte> insn = program.AsSpan(pc * 8, 8);
            ushort code = BinaryPrimitives.ReadUInt16LittleEndian(insn);
            byte jt = insn[2], jf = insn[3];
            uint k = BinaryPrimitives.ReadUInt32LittleEndian(insn[4..]);
            executed++;
            pc++;
            switch (code & 0x07)
            {
                case Ld:
                    a = code switch
                    {
                        0x20 => LoadWord(data, k),          // BPF_LD|BPF_W|BPF_ABS
                        0x00 => k,                          // BPF_LD|BPF_IMM
                        0x60 => mem[CheckMem(k)],           // BPF_LD|BPF_MEM
                        0x80 => 64,                         // BPF_LD|BPF_W|BPF_LEN
                        _ => throw Bad(pc - 1, code),
                    };
                    break;
                case Ldx:
                    x = code switch
                    {
                        0x01 => k,
                        0x61 => mem[CheckMem(k)],
                        0x81 => 64,
                        _ => throw Bad(pc - 1, code),
                    };
                    break;
                case St:
                    mem[CheckMem(k)] = a;
                    break;
                case Stx:
                    mem[CheckMem(k)] = x;
                    break;
                case Alu:
                    uint operand = (code & 0x08) != 0 ? x : k;
                    a = (code & 0xf0) switch
                    {
                        0x00 => a + operand,
                        0x10 => a - operand,
                        0x20 => a * operand,
                        0x30 => operand == 0 ? throw new InvalidDataException("division by zero") : a / operand,
                        0x40 => a | operand,
                        0x50 => a & operand,
                        0x60 => operand >= 32 ? 0 : a << (int)operand,
                        0x70 => operand >= 32 ? 0 : a >> (int)operand,
                        0x80 => (uint)-(int)a,
                        0xa0 => a ^ operand,
                        _ => throw Bad(pc - 1, code),
                    };
                    break;
                case Jmp:
                    if ((code & 0xf0) == 0x00)
                    {
                        pc += (int)k;   // BPF_JA
                        break;
                    }
                    uint src = (code & 0x08) != 0 ? x : k;
                    bool taken = (code & 0xf0) switch
                    {
                        0x10 => a == src,
                        0x20 => a > src,
                        0x30 => a >= src,
                        0x40 => (a & src) != 0,
                        _ => throw Bad(pc - 1, code),
                    };
                    pc += taken ? jt : jf;
                    break;
                case Ret:
                    return code switch
                    {
                        0x06 => k,
                        0x16 => a,
                        _ => throw Bad(pc - 1, code),
                    };
                case Misc:
                    if (code == 0x07) x = a;
                    else if (code == 0x87) a = x;
                    else throw Bad(pc - 1, code);
                    break;
            }
        }
    }

    /// <summary>The kernel's static checks: every jump lands inside the program and the
    /// last instruction is a return.</summary>
    public static void Verify(byte[] program)
    {
        int count = program.Length / 8;
        Assert.InRange(count, 1, 4096);
        for (int pc = 0; pc < count; pc++)
        {
            ReadOnlySpan<byte> insn = program.AsSpan(pc * 8, 8);
            ushort code = BinaryPrimitives.ReadUInt16LittleEndian(insn);
            uint k = BinaryPrimitives.ReadUInt32LittleEndian(insn[4..]);
            if ((code & 0x07) == Jmp)
            {
                if ((code & 0xf0) == 0)
                {
                    Assert.True(pc + 1 + (long)k < count, $"ja at {pc} jumps out of the program");
                }
                else
                {
                    Assert.True(pc + 1 + insn[2] < count, $"jt at {pc} jumps out of the program");
                    Assert.True(pc + 1 + insn[3] < count, $"jf at {pc} jumps out of the program");
                }
            }
            if (code == 0x20)
                Assert.True(k % 4 == 0 && k < 64, $"load at {pc} reads outside seccomp_data (offset {k})");
        }
        ushort last = BinaryPrimitives.ReadUInt16LittleEndian(program.AsSpan((count - 1) * 8));
        Assert.True((last & 0x07) == Ret, "the program does not end in ret");
    }

    private static uint LoadWord(byte[] data, uint offset)
    {
        if (offset % 4 != 0 || offset + 4 > data.Length)
            throw new InvalidDataException($"load of seccomp_data offset {offset} is not allowed");
        return BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan((int)offset));
    }

    private static uint CheckMem(uint k) =>
        k < 16 ? k : throw new InvalidDataException($"scratch slot {k} out of range");

    private static InvalidDataException Bad(int pc, ushort code) =>
        new($"unsupported instruction 0x{code:x4} at {pc}");
}
