using Dune.Oci.Spec;

namespace Dune.Oci.Seccomp;

/// <summary>
/// The policy of Docker's default seccomp profile for a container with Docker's default
/// capability set, on an x86_64 host: everything not listed fails with EPERM; ordinary
/// process, file, memory, IPC, socket and time syscalls are allowed; namespace creation,
/// mounting, module loading, kernel keyring, BPF, perf, clock setting, reboot, swap and
/// similar host-level operations are refused. Written from that profile's documented
/// intent, not copied from it.
/// </summary>
public static class DefaultSeccompProfile
{
    private const uint EPERM = 1;
    private const uint ENOSYS = 38;

    /// <summary>clone flags that create namespaces (CLONE_NEWNS | NEWCGROUP | NEWUTS |
    /// NEWIPC | NEWUSER | NEWPID | NEWNET); without CAP_SYS_ADMIN clone may set none.</summary>
    public const ulong NamespaceCloneFlags = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000
        | 0x10000000 | 0x20000000 | 0x40000000;

    /// <summary>AF_VSOCK: host/guest sockets stay closed to containers.</summary>
    public const ulong AfVsock = 40;

    // Allowed unconditionally for every container.
    private static readonly string[] Allowed =
    [
        // process lifetime and identity
        "execve", "execveat", "exit", "exit_group", "fork", "vfork", "wait4", "waitid", "waitpid",
        "getpid", "getppid", "gettid", "getpgid", "getpgrp", "getsid", "setpgid", "setsid",
        "getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32",
        "getresuid", "getresuid32", "getresgid", "getresgid32", "getgroups", "getgroups32",
        "setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid", "setregid32",
        "setresuid", "setresuid32", "setresgid", "setresgid32", "setfsuid", "setfsuid32",
        "setfsgid", "setfsgid32", "setgroups", "setgroups32", "capget", "capset", "prctl",
        "getpriority", "setpriority", "getrlimit", "ugetrlimit", "setrlimit", "prlimit64",
        "getrusage", "times", "umask", "uname", "sysinfo", "getcpu", "set_tid_address",
        "get_robust_list", "set_robust_list", "rseq", "restart_syscall", "seccomp",
        "arch_prctl", "modify_ldt", "get_thread_area", "set_thread_area",
        "ptrace", "kcmp", "process_vm_readv", "process_vm_writev",
        "pidfd_open", "pidfd_send_signal", "process_mrelease", "landlock_create_ruleset",
        "landlock_add_rule", "landlock_restrict_self",
        // scheduling
        "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getattr", "sched_setattr",
        "sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
        "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval",
        "sched_rr_get_interval_time64", "ioprio_get", "ioprio_set",
        // signals
        "kill", "tkill", "tgkill", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
        "rt_sigqueueinfo", "rt_tgsigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
        "rt_sigtimedwait_time64", "sigaltstack", "sigprocmask", "sigreturn", "signalfd", "signalfd4",
        "pause", "alarm",
        // memory
        "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync",
        "mlock", "mlock2", "mlockall", "munlock", "munlockall", "remap_file_pages", "membarrier",
        "memfd_create", "pkey_alloc", "pkey_free", "pkey_mprotect",
        "map_shadow_stack",
        // files and descriptors
        "read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev",
        "pwritev2", "open", "openat", "openat2", "creat", "close", "close_range", "dup", "dup2",
        "dup3", "lseek", "_llseek", "fcntl", "fcntl64", "ioctl", "flock", "fsync", "fdatasync",
        "sync", "syncfs", "sync_file_range", "truncate", "truncate64", "ftruncate", "ftruncate64",
        "fallocate", "fadvise64", "fadvise64_64", "readahead", "sendfile", "sendfile64",
        "copy_file_range", "splice", "tee", "vmsplice", "pipe", "pipe2", "stat", "stat64", "lstat",
        "lstat64", "fstat", "fstat64", "fstatat64", "newfstatat", "statx", "statfs", "statfs64",
        "fstatfs", "fstatfs64", "access", "faccessat", "faccessat2", "getcwd", "chdir", "fchdir",
        "mkdir", "mkdirat", "rmdir", "rename", "renameat", "renameat2", "link", "linkat", "unlink",
        "unlinkat", "symlink", "symlinkat", "readlink", "readlinkat", "mknod", "mknodat", "chmod",
        "fchmod", "fchmodat", "fchmodat2", "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown",
        "lchown32", "utime", "utimes", "utimensat", "utimensat_time64", "futimesat", "getdents",
        "getdents64", "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr",
        "listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
        "inotify_init", "inotify_init1", "inotify_add_watch",
        "inotify_rm_watch", "fanotify_mark",
        // polling, events, timers, asynchronous I/O
        "select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll", "ppoll_time64",
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait",
        "epoll_wait_old", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "timerfd_create",
        "timerfd_settime", "timerfd_settime64", "timerfd_gettime", "timerfd_gettime64",
        "timer_create", "timer_delete", "timer_getoverrun", "timer_settime", "timer_settime64",
        "timer_gettime", "timer_gettime64", "getitimer", "setitimer", "io_setup", "io_destroy",
        "io_submit", "io_cancel", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
        // futexes
        "futex", "futex_time64", "futex_waitv", "futex_wait", "futex_wake", "futex_requeue",
        // time (reading only)
        "time", "gettimeofday", "clock_gettime", "clock_gettime64", "clock_getres",
        "clock_getres_time64", "clock_nanosleep", "clock_nanosleep_time64", "nanosleep",
        "adjtimex", "clock_adjtime", "clock_adjtime64",
        // sockets (socket(2) itself is below, without AF_VSOCK)
        "socketpair", "bind", "connect", "listen", "accept", "accept4", "getsockname", "getpeername",
        "getsockopt", "setsockopt", "send", "sendto", "sendmsg", "sendmmsg", "recv", "recvfrom",
        "recvmsg", "recvmmsg", "recvmmsg_time64", "shutdown", "socketcall",
        // System V and POSIX IPC
        "ipc", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop",
        "semtimedop_time64", "semctl", "shmget", "shmat", "shmdt", "shmctl", "mq_open", "mq_unlink",
        "mq_timedsend", "mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64",
        "mq_notify", "mq_getsetattr",
        // random numbers
        "getrandom",
        // granted by default capabilities: CAP_SYS_CHROOT
        "chroot",
    ];

    // personality(2) values a container may set: PER_LINUX, UNAME26, PER_LINUX32,
    // UNAME26|PER_LINUX32, and 0xffffffff which only queries the persona.
    private static readonly ulong[] Personalities = [0x0, 0x0008, 0x20000, 0x20008, 0xffffffff];

    /// <summary>A fresh copy of the profile (callers may modify it).</summary>
    public static LinuxSeccomp Create()
    {
        var syscalls = new List<LinuxSyscall>
        {
            new() { Names = [.. Allowed], Action = "SCMP_ACT_ALLOW" },
        };
        foreach (ulong persona in Personalities)
        {
            syscalls.Add(new LinuxSyscall
            {
                Names = ["personality"],
                Action = "SCMP_ACT_ALLOW",
                Args = [new LinuxSeccompArg { Index = 0, Value = persona, Op = "SCMP_CMP_EQ" }],
            });
        }
        // clone without any namespace flag (flags are argument 0 on x86).
        syscalls.Add(new LinuxSyscall
        {
            Names = ["clone"],
            Action = "SCMP_ACT_ALLOW",
            Args = [new LinuxSeccompArg { Index = 0, Value = NamespaceCloneFlags, ValueTwo = 0, Op = "SCMP_CMP_MASKED_EQ" }],
        });
        // clone3 passes its flags in memory, which a filter cannot read: report ENOSYS so
        // the C library falls back to clone, which is checked above.
        syscalls.Add(new LinuxSyscall { Names = ["clone3"], Action = "SCMP_ACT_ERRNO", ErrnoRet = ENOSYS });
        syscalls.Add(new LinuxSyscall
        {
            Names = ["socket"],
            Action = "SCMP_ACT_ALLOW",
            Args = [new LinuxSeccompArg { Index = 0, Value = AfVsock, Op = "SCMP_CMP_NE" }],
        });

        return new LinuxSeccomp
        {
            DefaultAction = "SCMP_ACT_ERRNO",
            DefaultErrnoRet = EPERM,
            Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            Syscalls = syscalls,
        };
    }
}
