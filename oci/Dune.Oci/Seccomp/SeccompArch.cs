namespace Dune.Oci.Seccomp;

/// <summary>
/// The syscall ABIs an x86 Linux kernel can present to a seccomp filter. x86_64 and x32
/// share AUDIT_ARCH_X86_64 and differ only by the x32 bit in the syscall number.
/// </summary>
public enum SeccompArch
{
    X86_64,
    X86,
    X32,
}
