namespace Dune.Oci.Plan;

/// <summary>The ops of the setup plan; numbers and arguments are fixed by docs/setup-plan.md.</summary>
public enum PlanOp : uint
{
    Setns = 1, JoinCgroup = 2, Unshare = 3, WriteFile = 4, Clone = 5, SetHostname = 6,
    SetDomainname = 7, Rootfs = 8, Mount = 9, Mknod = 10, Symlink = 11, Sync = 12, RunHook = 13,
    PivotRoot = 14, ChrootMove = 15, MaskPath = 16, ReadonlyPath = 17, Rlimit = 18, Console = 19,
    Setsid = 20, NoNewPrivs = 21, Umask = 22, CapBounding = 23, SetUser = 24, Caps = 25,
    Seccomp = 26, FifoOpen = 27, FifoWait = 28, Chdir = 29, ResolveExec = 30, Ready = 31,
    Exec = 32, NewKeyring = 33, CloseSocket = 34, Personality = 35, DuneExec = 36, SelectState = 37, DuneOpen = 38, CgroupWait = 39, LoopbackUp = 40,
    MountSetattr = 41, Chroot = 42, ParentPrivate = 43, OpenTree = 44,
}

/// <summary>Message kinds on the plan socket.</summary>
public enum PlanMessageKind : uint
{
    Step = 1, End = 2, Continue = 3,
    Pid = 10, Sync = 11, Ready = 12, Error = 13, SeccompFd = 14,
}

/// <summary>Bits of the MOUNT step's `how` argument.</summary>
[Flags]
public enum MountHow : ulong
{
    None = 0, TargetInRootfs = 1, MakeDirectory = 2, MakeFile = 4, SourceInRootfs = 8, SourceTree = 16,
}
