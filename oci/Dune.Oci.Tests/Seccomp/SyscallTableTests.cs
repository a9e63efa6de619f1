using System.Diagnostics;
using Dune.Oci.Seccomp;
using Xunit;

namespace Dune.Oci.Tests.Seccomp;

public class SyscallTableTests
{
    [Theory]
    [InlineData(SeccompArch.X86_64, "read", 0u)]
    [InlineData(SeccompArch.X86_64, "mkdir", 83u)]
    [InlineData(SeccompArch.X86_64, "clone3", 435u)]
    [InlineData(SeccompArch.X86, "read", 3u)]
    [InlineData(SeccompArch.X86, "mkdir", 39u)]
    [InlineData(SeccompArch.X86, "socketcall", 102u)]
    [InlineData(SeccompArch.X32, "read", 0x40000000u)]
    [InlineData(SeccompArch.X32, "mkdir", 0x40000000u + 83)]
    [InlineData(SeccompArch.X32, "rt_sigaction", 0x40000000u + 512)]  // x32 has its own compat entry
    public void KnownNames(SeccompArch arch, string name, uint expected)
    {
        Assert.True(SyscallTable.TryGetNumber(arch, name, out uint nr));
        Assert.Equal(expected, nr);
    }

    [Theory]
    [InlineData(SeccompArch.X86_64, "socketcall")]   // i386 only
    [InlineData(SeccompArch.X86, "arch_prctl_")]
    [InlineData(SeccompArch.X86_64, "no_such_syscall")]
    [InlineData(SeccompArch.X86_64, "")]
    [InlineData(SeccompArch.X32, "chown32")]
    public void UnknownNames(SeccompArch arch, string name)
    {
        Assert.False(SyscallTable.TryGetNumber(arch, name, out _));
    }

    [Fact]
    public void IsKnownLooksAtEveryAbi()
    {
        Assert.True(SyscallTable.IsKnown("socketcall"));
        Assert.True(SyscallTable.IsKnown("epoll_ctl_old"));
        Assert.False(SyscallTable.IsKnown("SCMP_ACT_ALLOW"));
    }

    [Fact]
    public void GeneratedFileMatchesTheHeadersOnThisMachine()
    {
        string dir = Path.Combine(RepoPaths.Root, "oci", "Dune.Oci", "Seccomp");
        string regenerated = Path.Combine(Path.GetTempPath(), $"SyscallTable-{Guid.NewGuid():N}.g.cs");
        try
        {
            var psi = new ProcessStartInfo("sh", [Path.Combine(dir, "gen-syscall-table.sh")])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            psi.Environment["OUT"] = regenerated;
            using Process p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"generator failed: {err}");
            // The numbers must match; which linux-libc-dev build they came from need not
            // (a point release of the package changes its version, not the syscall table).
            Assert.Equal(
                WithoutPackageVersion(File.ReadAllText(Path.Combine(dir, "SyscallTable.g.cs"))),
                WithoutPackageVersion(File.ReadAllText(regenerated)));
        }
        finally
        {
            File.Delete(regenerated);
        }
    }

    private static string WithoutPackageVersion(string generated) =>
        System.Text.RegularExpressions.Regex.Replace(generated, @"linux-libc-dev [^\s"")]+", "linux-libc-dev VERSION");

    [Fact]
    public void TablesAreComplete()
    {
        // Counts of __NR_ definitions in the headers the file was generated from.
        Assert.True(SyscallTable.X86_64Count > 350, $"{SyscallTable.X86_64Count}");
        Assert.True(SyscallTable.X86Count > 430, $"{SyscallTable.X86Count}");
        Assert.True(SyscallTable.X32Count > 340, $"{SyscallTable.X32Count}");
    }
}
