using System.Text.Json;
using Dune.Oci.Seccomp;
using Dune.Oci.Spec;
using Xunit;
using static Dune.Oci.Tests.Seccomp.SeccompTestKit;

namespace Dune.Oci.Tests.Seccomp;

/// <summary>The normalized policy dune-run reads (libdune/README.md, "Policy format").</summary>
public class MonitorPolicyTests
{
    private static JsonElement Write(LinuxSeccomp spec) => JsonDocument.Parse(MonitorPolicy.Write(spec)).RootElement;

    private static JsonElement Entry(JsonElement policy, string name)
    {
        uint nr = Number(SeccompArch.X86_64, name);
        return policy.GetProperty("syscalls").EnumerateArray().Single(e => e.GetProperty("nr").GetUInt32() == nr);
    }

    [Fact]
    public void WritesTheDocumentedForm()
    {
        var spec = Policy("SCMP_ACT_ERRNO",
            Rule("SCMP_ACT_ALLOW", "read"),
            new LinuxSyscall { Names = ["kill"], Action = "SCMP_ACT_ERRNO", ErrnoRet = 13, Args = [Arg(1, "EQ", 9)] },
            Rule("SCMP_ACT_ALLOW", "kill"));
        spec.DefaultErrnoRet = 38;
        JsonElement p = Write(spec);
        Assert.Equal(1, p.GetProperty("dunePolicy").GetInt32());
        Assert.Equal("SCMP_ACT_ERRNO", p.GetProperty("defaultAction").GetString());
        Assert.Equal(38, p.GetProperty("defaultErrnoRet").GetInt32());
        JsonElement read = Entry(p, "read");
        Assert.Equal("read", read.GetProperty("name").GetString());
        Assert.Equal("SCMP_ACT_ALLOW", read.GetProperty("rules")[0].GetProperty("action").GetString());
        // kill: the unconditional ALLOW decides alone (libseccomp), the conditional rule is gone.
        JsonElement kill = Entry(p, "kill");
        Assert.Equal(1, kill.GetProperty("rules").GetArrayLength());
        Assert.False(kill.GetProperty("rules")[0].TryGetProperty("args", out _));
        Assert.Equal(2, p.GetProperty("syscalls").GetArrayLength());
    }

    [Fact]
    public void SameArgumentTestsBecomeSeparateRulesAndMasksArePreApplied()
    {
        var spec = Policy("SCMP_ACT_ALLOW",
            new LinuxSyscall { Names = ["ioctl"], Action = "SCMP_ACT_ERRNO", ErrnoRet = 1, Args = [Arg(1, "EQ", 1), Arg(1, "EQ", 2)] },
            Rule("SCMP_ACT_KILL_PROCESS", "clone", Arg(0, "MASKED_EQ", 0xFF, 0x1_0000_0011)),
            Rule("SCMP_ACT_ALLOW", "mkdir"));  // equal to the default: dropped
        JsonElement p = Write(spec);
        JsonElement ioctl = Entry(p, "ioctl").GetProperty("rules");
        Assert.Equal(2, ioctl.GetArrayLength());
        Assert.Equal(1UL, ioctl[0].GetProperty("args")[0].GetProperty("value").GetUInt64());
        Assert.Equal(2UL, ioctl[1].GetProperty("args")[0].GetProperty("value").GetUInt64());
        Assert.Equal(1, ioctl[0].GetProperty("errnoRet").GetInt32());
        JsonElement clone = Entry(p, "clone").GetProperty("rules")[0].GetProperty("args")[0];
        Assert.Equal("SCMP_CMP_MASKED_EQ", clone.GetProperty("op").GetString());
        Assert.Equal(0x11UL, clone.GetProperty("valueTwo").GetUInt64());
        Assert.DoesNotContain(p.GetProperty("syscalls").EnumerateArray(), e => e.GetProperty("nr").GetUInt32() == Number(SeccompArch.X86_64, "mkdir"));
    }

    [Fact]
    public void InvalidSpecIsRefusedWithItsPath()
    {
        var spec = Policy("SCMP_ACT_NOPE", Rule("SCMP_ACT_ALLOW", "read"));
        var e = Assert.Throws<SeccompException>(() => MonitorPolicy.Write(spec));
        Assert.Contains("linux.seccomp.defaultAction", e.Message);
    }
}
