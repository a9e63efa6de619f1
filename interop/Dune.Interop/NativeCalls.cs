using System.Runtime.InteropServices;

namespace Dune.Interop;

/// <summary>
/// The libc functions Tmds.LibC 0.5.0 does not bind (README.md says why each is needed).
/// Everything else comes from Tmds.Linux.LibC.
/// </summary>
public static unsafe partial class NativeCalls
{
    private const string C = "libc";

    public const short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08, POSIX_SPAWN_SETSID = 0x80;
    public const int WNOHANG = 1;
    public const int LOCK_EX = 2;
    public const int PR_SET_CHILD_SUBREAPER = 36;
    public const int IN_CLOEXEC = 0x80000;
    public const uint IN_MODIFY = 0x2, IN_DELETE_SELF = 0x400, IN_IGNORED = 0x8000;

    // posix_spawn: a vfork-style spawn that is safe from a multi-threaded .NET process.
    [LibraryImport(C)] public static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);
    [LibraryImport(C)] public static partial int posix_spawn_file_actions_init(void* fa);
    [LibraryImport(C)] public static partial int posix_spawn_file_actions_destroy(void* fa);
    [LibraryImport(C)] public static partial int posix_spawn_file_actions_adddup2(void* fa, int fd, int newfd);
    [LibraryImport(C)] public static partial int posix_spawnattr_init(void* attr);
    [LibraryImport(C)] public static partial int posix_spawnattr_destroy(void* attr);
    [LibraryImport(C)] public static partial int posix_spawnattr_setflags(void* attr, short flags);
    [LibraryImport(C)] public static partial int posix_spawnattr_setsigmask(void* attr, void* set);
    [LibraryImport(C)] public static partial int posix_spawnattr_setsigdefault(void* attr, void* set);

    [LibraryImport(C, SetLastError = true)] public static partial int waitpid(int pid, int* status, int options);
    [LibraryImport(C, SetLastError = true)] public static partial int flock(int fd, int operation);
    [LibraryImport(C, SetLastError = true)] public static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
    [LibraryImport(C, SetLastError = true)] public static partial int inotify_init1(int flags);
    [LibraryImport(C, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int inotify_add_watch(int fd, string path, uint mask);
    [LibraryImport(C)] public static partial void cfmakeraw(void* termios);
}
