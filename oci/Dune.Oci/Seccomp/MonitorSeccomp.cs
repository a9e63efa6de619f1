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
    /// <summary>The resource name of libdune/monitor-calls.txt in this assembly.</summary>
    internal const string MonitorCallsResource = "Dune.Oci.Seccomp.monitor-calls.txt";

    /// <summary>
    /// What dune-run needs for itself: KVM ioctls, mirroring memory, signals, threads, re-exec.
    /// The list lives beside the monitor, in libdune/monitor-calls.txt (embedded at build
    /// time), where libdune's suite checks it against what dune-run really calls.
    /// </summary>
    public static IReadOnlyList<string> MonitorCalls { get; } = ReadMonitorCalls();

    private static string[] ReadMonitorCalls()
    {
        using Stream stream = typeof(MonitorSeccomp).Assembly.GetManifestResourceStream(MonitorCallsResource)
            ?? throw new InvalidOperationException($"{MonitorCallsResource} is not embedded in {typeof(MonitorSeccomp).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return ParseCallList(reader.ReadToEnd());
    }

    /// <summary>One name a line; blank lines and lines starting with # are skipped.</summary>
    internal static string[] ParseCallList(string text) =>
        text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();

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
        "sendmmsg", "recvmmsg", "shmat", "shmdt", "shmctl", "seccomp", "userfaultfd",
        // translated for the guest: the tracer's monitor makes its own host ptrace calls
        "ptrace",
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
