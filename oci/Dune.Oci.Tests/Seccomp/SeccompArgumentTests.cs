using Dune.Oci.Seccomp;
using Dune.Oci.Spec;
using Xunit;
using static Dune.Oci.Tests.Seccomp.SeccompTestKit;

namespace Dune.Oci.Tests.Seccomp;

public class SeccompArgumentTests
{
    // Values chosen around the 32-bit seam: equal/unequal high words, equal/unequal low words.
    private static readonly ulong[] Interesting =
    [
        0, 1, 2, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF,
        0x1_0000_0000, 0x1_0000_0001, 0x1_FFFF_FFFF, 0x2_0000_0000, 0x2_0000_0001,
        0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_0000_0000,
        0xFFFF_FFFF_FFFF_FFFE, 0xFFFF_FFFF_FFFF_FFFF,
    ];

    private static bool Reference(string op, ulong arg, ulong value, ulong valueTwo) => op switch
    {
        "NE" => arg != value,
        "LT" => arg < value,
        "LE" => arg <= value,
        "EQ" => arg == value,
        "GE" => arg >= value,
        "GT" => arg > value,
        "MASKED_EQ" => (arg & value) == (valueTwo & value),   // libseccomp masks both sides
        _ => throw new ArgumentException(op),
    };

    [Theory]
    [InlineData("NE")]
    [InlineData("LT")]
    [InlineData("LE")]
    [InlineData("EQ")]
    [InlineData("GE")]
    [InlineData("GT")]
    public void ComparisonsAgreeWithUnsigned64BitArithmetic(string op)
    {
        foreach (ulong value in Interesting)
        {
            for (uint index = 0; index < 6; index += 5)
            {
                SeccompProgram p = SeccompCompiler.Compile(Policy("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", "ioctl", Arg(index, op, value))));
                foreach (ulong arg in Interesting)
                {
                    var args = new ulong[6];
                    args[index] = arg;
                    uint expected = Reference(op, arg, value, 0) ? SeccompReturn.Allow : Errno(1);
                    uint actual = Verdict(p, "ioctl", SeccompArch.X86_64, args);
                    Assert.True(expected == actual, $"arg{index}={arg:x} {op} {value:x}: expected {Hex(expected)}, got {Hex(actual)}");
                }
            }
        }
    }

    [Theory]
    [InlineData(0xFF00UL, 0x1200UL, 0x12ABUL, true)]
    [InlineData(0xFF00UL, 0x1200UL, 0x13ABUL, false)]
    [InlineData(0xF_0000_0000UL, 0x3_0000_0000UL, 0x3_1234_5678UL, true)]
    [InlineData(0xF_0000_0000UL, 0x3_0000_0000UL, 0x4_0000_0000UL, false)]
    [InlineData(0xF_0000_00FFUL, 0x3_0000_0012UL, 0x13_FFFF_FF12UL, true)]
    [InlineData(0xF_0000_00FFUL, 0x3_0000_0012UL, 0x13_FFFF_FF13UL, false)]
    [InlineData(0xFFUL, 0x1ABUL, 0x2ABUL, true)]                       // expected bits outside the mask are ignored
    [InlineData(0xFFUL, 0x1ABUL, 0x2ACUL, false)]
    [InlineData(0xFFUL, 0x1_0000_0000UL, 0x5_0000_0000UL, true)]       // high expected bits, low mask
    [InlineData(0x7E020000UL, 0UL, 0x01200011UL, true)]                 // clone flags without namespaces
    [InlineData(0x7E020000UL, 0UL, 0x10000000UL, false)]                // CLONE_NEWUSER
    public void MaskedEqual(ulong mask, ulong expected, ulong arg, bool matches)
    {
        SeccompProgram p = SeccompCompiler.Compile(Policy("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", "ioctl", Arg(2, "MASKED_EQ", mask, expected))));
        Assert.Equal(Reference("MASKED_EQ", arg, mask, expected), matches);
        Assert.Equal(matches ? SeccompReturn.Allow : Errno(1), Verdict(p, "ioctl", SeccompArch.X86_64, 0, 0, arg));
    }

    [Fact]
    public void MaskedEqualMatrix()
    {
        ulong[] masks = [0xFF, 0xFFFF_FFFF, 0x1_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 0xF0F0_F0F0_F0F0_F0F0];
        foreach (ulong mask in masks)
        {
            foreach (ulong expected in Interesting)
            {
                SeccompProgram p = SeccompCompiler.Compile(Policy("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", "ioctl", Arg(4, "MASKED_EQ", mask, expected))));
                foreach (ulong arg in Interesting)
                {
                    uint want = Reference("MASKED_EQ", arg, mask, expected) ? SeccompReturn.Allow : Errno(1);
                    Assert.Equal(Hex(want), Hex(Verdict(p, "ioctl", SeccompArch.X86_64, 0, 0, 0, 0, arg)));
                }
            }
        }
    }

    [Fact]
    public void ArgumentsOfOneRuleAreAnded()
    {
        var spec = Policy("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", "ioctl", Arg(0, "EQ", 1), Arg(1, "EQ", 2), Arg(5, "LT", 10)));
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "ioctl", SeccompArch.X86_64, 1, 2, 0, 0, 0, 9));
        Assert.Equal(Errno(1), Verdict(p, "ioctl", SeccompArch.X86_64, 1, 3, 0, 0, 0, 9));
        Assert.Equal(Errno(1), Verdict(p, "ioctl", SeccompArch.X86_64, 0, 2, 0, 0, 0, 9));
        Assert.Equal(Errno(1), Verdict(p, "ioctl", SeccompArch.X86_64, 1, 2, 0, 0, 0, 10));
    }

    [Fact]
    public void TestsOnTheSameArgumentAreOredLikeRunc()
    {
        var spec = Policy("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", "ioctl", Arg(1, "EQ", 5), Arg(1, "EQ", 7), Arg(0, "EQ", 3)));
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "ioctl", SeccompArch.X86_64, 0, 5));
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "ioctl", SeccompArch.X86_64, 0, 7));
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "ioctl", SeccompArch.X86_64, 3, 0));
        Assert.Equal(Errno(1), Verdict(p, "ioctl", SeccompArch.X86_64, 0, 6));
    }

    [Fact]
    public void RulesForOneSyscallAreOredInOrder()
    {
        var spec = Policy("SCMP_ACT_ERRNO",
            Rule("SCMP_ACT_ALLOW", "ioctl", Arg(0, "EQ", 1)),
            Rule("SCMP_ACT_ERRNO", "ioctl", Arg(0, "EQ", 2)),
            Rule("SCMP_ACT_TRAP", "ioctl", Arg(0, "GE", 1)),   // overlaps both earlier rules
            Rule("SCMP_ACT_LOG", "ioctl", Arg(1, "EQ", 9)));
        spec.Syscalls![1].ErrnoRet = 5;
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "ioctl", SeccompArch.X86_64, 1));
        Assert.Equal(Errno(5), Verdict(p, "ioctl", SeccompArch.X86_64, 2));
        Assert.Equal(SeccompReturn.Trap, Verdict(p, "ioctl", SeccompArch.X86_64, 3));
        Assert.Equal(SeccompReturn.Log, Verdict(p, "ioctl", SeccompArch.X86_64, 0, 9));
        Assert.Equal(Errno(1), Verdict(p, "ioctl", SeccompArch.X86_64, 0, 8));
    }

    [Fact]
    public void OneRuleWithSeveralNamesAppliesToEach()
    {
        var spec = Policy("SCMP_ACT_ERRNO", new LinuxSyscall
        {
            Names = ["read", "write", "pread64"],
            Action = "SCMP_ACT_ALLOW",
            Args = [Arg(0, "LE", 2)],
        });
        SeccompProgram p = SeccompCompiler.Compile(spec);
        foreach (string name in new[] { "read", "write", "pread64" })
        {
            Assert.Equal(SeccompReturn.Allow, Verdict(p, name, SeccompArch.X86_64, 2));
            Assert.Equal(Errno(1), Verdict(p, name, SeccompArch.X86_64, 3));
        }
    }

    [Fact]
    public void ThirtyTwoBitAbisCompareTheLowWord()
    {
        var spec = Policy("SCMP_ACT_ERRNO",
            Rule("SCMP_ACT_ALLOW", "ioctl", Arg(0, "EQ", 0x1_0000_0005)),
            Rule("SCMP_ACT_ALLOW", "fcntl", Arg(0, "MASKED_EQ", 0xF_0000_00F0, 0x3_0000_0010)));
        spec.Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
        SeccompProgram p = SeccompCompiler.Compile(spec);
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "ioctl", SeccompArch.X86, 5));
        Assert.Equal(Errno(1), Verdict(p, "ioctl", SeccompArch.X86, 6));
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "ioctl", SeccompArch.X32, 0x5));
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "fcntl", SeccompArch.X86, 0x1F));
        // x86_64 compares all 64 bits.
        Assert.Equal(Errno(1), Verdict(p, "ioctl", SeccompArch.X86_64, 5));
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "ioctl", SeccompArch.X86_64, 0x1_0000_0005));
        Assert.Equal(SeccompReturn.Allow, Verdict(p, "fcntl", SeccompArch.X86_64, 0x3_0000_001F));
        Assert.Equal(Errno(1), Verdict(p, "fcntl", SeccompArch.X86_64, 0x1F));
    }
}
