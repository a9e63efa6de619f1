using Dune.Oci.Spec;

namespace Dune.Oci.Seccomp;

/// <summary>
/// The kernel seccomp filter under a Dune process. The monitor checks every call of the
/// program against the container's policy first; the kernel filter underneath is that same
/// policy plus the few calls the monitor itself makes to run the VM, so that breaking out of
/// the Dune layer leaves no more than a runc container with the same profile would allow.
/// </summary>
public static class MonitorSeccomp
{
    /// <summary>What dune-run needs for itself: KVM ioctls, mirroring memory, signals, re-exec.</summary>
    public static IReadOnlyList<string> MonitorCalls { get; } = new[]
    {
        "ioctl", "mmap", "munmap", "mprotect", "mremap", "madvise", "futex", "rt_sigaction", "rt_sigprocmask",
        "rt_sigreturn", "sigaltstack", "tgkill", "gettid", "getpid", "exit", "exit_group", "close", "fcntl", "dup",
        "dup3", "read", "write", "pread64", "lseek", "openat", "readlink", "execveat", "memfd_create", "ftruncate",
        "clock_gettime", "sched_yield", "set_tid_address", "arch_prctl", "brk", "prctl", "newfstatat", "fstat",
        "getrandom",
        // Path calls are made on the checked object's descriptor (libdune/src/pathcalls.c),
        // received descriptors are recognised, O_TRUNC is applied after the check.
        "fchmodat2", "fchmod", "fchownat", "utimensat", "fsetxattr", "fremovexattr", "fstatfs", "readlinkat",
        // dune-run re-executes itself from a sealed memfd copy (libdune/src/self_image.c).
        "copy_file_range", "sendfile",
        // Seen from dune-run under strace, missing before (issue 11 derives the whole list):
        // glibc's access checks in execve (faccessat2 first), thread and fork creation (clone3,
        // clone, rseq and set_robust_list in each new thread), vfork's pipe, fault-around's
        // mincore, the rlimit read, the ids glibc reads at start, and the undo of a redirected link.
        "faccessat", "faccessat2", "clone", "clone3", "rseq", "set_robust_list", "pipe2", "mincore", "prlimit64",
        "getuid", "geteuid", "getgid", "getegid", "unlinkat",
    };

    public static LinuxSeccomp Underneath(LinuxSeccomp? containerPolicy)
    {
        var policy = containerPolicy ?? DefaultSeccompProfile.Create();
        // First: for a syscall named by several unconditional rules, the first one decides.
        var syscalls = new List<LinuxSyscall> { new() { Names = MonitorCalls.ToList(), Action = "SCMP_ACT_ALLOW" } };
        syscalls.AddRange(policy.Syscalls ?? new List<LinuxSyscall>());
        return new LinuxSeccomp
        {
            DefaultAction = policy.DefaultAction,
            DefaultErrnoRet = policy.DefaultErrnoRet,
            Architectures = policy.Architectures,
            Flags = policy.Flags,
            Syscalls = syscalls,
        };
    }
}
