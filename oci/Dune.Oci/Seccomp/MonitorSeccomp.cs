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

    /// <summary>
    /// Calls the monitor answers itself or makes as a different call (libdune/src/syscalls.c,
    /// sb_syscall; pathcalls.c): the kernel filter never sees them as the program made them,
    /// so no SCMP_ACT_NOTIFY rule on them could reach a listener. With <see cref="MonitorCalls"/>
    /// (which the kernel filter allows first) they are refused for notify rules in Dune mode.
    /// </summary>
    public static IReadOnlyList<string> DecidedByTheMonitor { get; } = new[]
    {
        // memory, signals, threads and processes, exec, exit: emulated or mirrored
        "mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "msync", "mlock", "munlock", "mincore",
        "mlockall", "munlockall", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
        "rt_sigsuspend", "rt_sigpending", "clone", "fork", "vfork", "clone3", "execve", "execveat", "exit",
        "exit_group", "set_tid_address", "set_robust_list", "get_robust_list", "arch_prctl", "ioctl", "fcntl",
        "prctl", "futex", "select", "pselect6", "readlink", "readlinkat", "dup2", "dup3", "close_range", "rseq",
        "sendmmsg", "recvmmsg", "shmat", "shmdt", "shmctl", "seccomp",
        // path calls made on the checked object's descriptor
        "open", "creat", "openat", "chmod", "fchmodat", "chown", "lchown", "fchownat", "truncate", "utime",
        "utimes", "futimesat", "utimensat", "setxattr", "lsetxattr", "removexattr", "lremovexattr", "linkat",
    };

    /// <summary>
    /// In Dune mode the monitor forwards a call the policy marks SCMP_ACT_NOTIFY to the host and
    /// the kernel filter underneath notifies the listener: only calls that reach the host kernel
    /// as the program made them can be notified. Throws for the first rule that names another.
    /// </summary>
    public static void CheckNotifyRules(LinuxSeccomp policy)
    {
        var notForwarded = new HashSet<string>(MonitorCalls.Concat(DecidedByTheMonitor), StringComparer.Ordinal);
        var syscalls = policy.Syscalls ?? new List<LinuxSyscall>();
        for (int i = 0; i < syscalls.Count; i++)
        {
            if (syscalls[i]?.Action != "SCMP_ACT_NOTIFY") continue;
            foreach (var name in syscalls[i].Names ?? new List<string>())
            {
                if (notForwarded.Contains(name))
                    throw new SeccompException($"linux.seccomp.syscalls[{i}].names",
                        $"SCMP_ACT_NOTIFY on \"{name}\" is not supported in Dune mode: the Dune monitor makes or answers "
                        + "that call itself, so the kernel filter that notifies the listener never sees it as the program made it "
                        + $"(use the annotation {Spec.DuneMode.Annotation}={Spec.DuneMode.Native})");
            }
        }
    }

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
