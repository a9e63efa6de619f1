using System.Diagnostics;
using Dune.Oci.Seccomp;
using Xunit;
using static Dune.Oci.Tests.Seccomp.SeccompTestKit;

namespace Dune.Oci.Tests.Seccomp;

/// <summary>loader.c: loads a compiled filter and runs one operation under it.</summary>
public sealed class SeccompLoaderFixture() : CompiledCTool("loader", Source("oci", "Dune.Oci.Tests", "Seccomp", "loader.c"));

public class SeccompKernelTests : IClassFixture<SeccompLoaderFixture>
{
    private const int EPERM = 1;
    private readonly SeccompLoaderFixture _fx;

    public SeccompKernelTests(SeccompLoaderFixture fx) => _fx = fx;

    [Fact]
    public void KernelRefusesMkdirWithEperm()
    {
        var spec = Policy("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", "mkdir"));
        string dir = Path.Combine(_fx.Directory, "denied");
        Assert.Equal($"result=-1 errno={EPERM}", Load(SeccompCompiler.Compile(spec), "mkdir", dir));
        Assert.False(System.IO.Directory.Exists(dir));
    }

    [Fact]
    public void KernelAllowsWhatTheFilterAllows()
    {
        // Same shape, other syscall denied: the loader and the allowed path really work.
        var spec = Policy("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", "rmdir"));
        string dir = Path.Combine(_fx.Directory, "allowed");
        Assert.Equal("result=0 errno=0", Load(SeccompCompiler.Compile(spec), "mkdir", dir));
        Assert.True(System.IO.Directory.Exists(dir));
    }

    [Fact]
    public void KernelAcceptsTheDefaultProfile()
    {
        SeccompProgram program = SeccompCompiler.Compile(DefaultSeccompProfile.Create());
        string dir = Path.Combine(_fx.Directory, "default-profile");
        Assert.Equal("result=0 errno=0", Load(program, "mkdir", dir));
        Assert.True(System.IO.Directory.Exists(dir));
        // unshare(CLONE_NEWUSER) works here without a filter (root), and the profile refuses it.
        Assert.Equal("result=0 errno=0", Load(SeccompCompiler.Compile(Policy("SCMP_ACT_ALLOW")), "unshare-user"));
        Assert.Equal($"result=-1 errno={EPERM}", Load(program, "unshare-user"));
    }

    [Fact]
    public void KernelAcceptsFilterFlags()
    {
        var spec = Policy("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", "mkdir"));
        spec.Flags = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"];
        string dir = Path.Combine(_fx.Directory, "flags");
        Assert.Equal($"result=-1 errno={EPERM}", Load(SeccompCompiler.Compile(spec), "mkdir", dir));
        Assert.False(System.IO.Directory.Exists(dir));
    }

    private string Load(SeccompProgram program, params string[] operation)
    {
        string filter = Path.Combine(_fx.Directory, $"filter-{Guid.NewGuid():N}.bpf");
        File.WriteAllBytes(filter, program.Filter);
        (int code, string output) = RunProcess(_fx.Tool, [filter, ((uint)program.Flags).ToString(), .. operation]);
        Assert.True(code == 0, $"loader exited {code}: {output}");
        return output.Trim();
    }

    internal static (int Code, string Output) RunProcess(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output + err.Result);
    }
}
