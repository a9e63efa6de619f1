using Dune.Interop;
using Tmds.Linux;
using Dune.Oci.Seccomp;

namespace Dune.Oci.Interop;

/// <summary>
/// Whether the running kernel knows a combination of seccomp filter flags, asked without loading
/// anything: seccomp(SECCOMP_SET_MODE_FILTER, flags, NULL) checks the flags first (EINVAL for
/// unknown ones or a combination it refuses) and only then reads the program (EFAULT).
/// </summary>
internal static class SeccompFlagsProbe
{
    private const int SysSeccomp = 317, SetModeFilter = 1;
    private const int EFAULT = 14;

    public static bool KernelAccepts(SeccompFilterFlags flags) =>
        (long)(ssize_t)LibC.syscall(SysSeccomp, SetModeFilter, (uint)flags, 0) < 0 && NativeException.LastErrno == EFAULT;
}
