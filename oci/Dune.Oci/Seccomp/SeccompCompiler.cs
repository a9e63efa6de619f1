using Dune.Oci.Spec;
namespace Dune.Oci.Seccomp;
// PLACEHOLDER for compilation until the seccomp branch is merged (replaced by it).
public sealed class SeccompException : Exception { public SeccompException(string m) : base(m) { } }
public sealed record SeccompProgram(byte[] Filter, ulong Flags, IReadOnlyList<string> Warnings);
public static class SeccompCompiler { public static SeccompProgram Compile(LinuxSeccomp spec) => throw new SeccompException("placeholder"); }
public static class SeccompNames
{
    public static IReadOnlyList<string> Actions => new[] { "SCMP_ACT_ALLOW" };
    public static IReadOnlyList<string> Operators => new[] { "SCMP_CMP_EQ" };
    public static IReadOnlyList<string> Architectures => new[] { "SCMP_ARCH_X86_64" };
    public static IReadOnlyList<string> Flags => new[] { "SECCOMP_FILTER_FLAG_LOG" };
}
