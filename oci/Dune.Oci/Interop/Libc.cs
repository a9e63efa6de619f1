using System.Runtime.InteropServices;

namespace Dune.Oci.Interop;

// Every native call of the C# runtime lives here (source-generated, NativeAOT-safe).
// Callers get errno through Marshal.GetLastPInvokeError() and report it with Errno.Describe.
internal static unsafe partial class Libc
{
    private const string C = "libc";

    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_SEQPACKET = 5;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    public const int WNOHANG = 1;
    public const int EINTR = 4, EEXIST = 17;
    public const int LOCK_EX = 2;
    public const int POSIX_SPAWN_SETSIGMASK = 0x08, POSIX_SPAWN_SETSIGDEF = 0x04;
    public const int SCM_RIGHTS = 1, SOL_SOCKET = 1;
    public const uint TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414;

    [LibraryImport(C, SetLastError = true)] public static partial int socketpair(int domain, int type, int protocol, int* sv);
    [LibraryImport(C, SetLastError = true)] public static partial nint send(int fd, byte* buf, nint len, int flags);
    [LibraryImport(C, SetLastError = true)] public static partial nint recv(int fd, byte* buf, nint len, int flags);
    [LibraryImport(C, SetLastError = true)] public static partial nint read(int fd, byte* buf, nint len);
    [LibraryImport(C, SetLastError = true)] public static partial nint write(int fd, byte* buf, nint len);
    [LibraryImport(C, SetLastError = true)] public static partial int close(int fd);
    [LibraryImport(C, SetLastError = true)] public static partial int pipe2(int* fds, int flags);
    [LibraryImport(C, SetLastError = true)] public static partial int fcntl(int fd, int cmd, int arg);
    [LibraryImport(C, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int open(string path, int flags, int mode);
    [LibraryImport(C, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int mkdir(string path, uint mode);
    [LibraryImport(C, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int mkfifo(string path, uint mode);
    [LibraryImport(C, SetLastError = true)] public static partial int flock(int fd, int op);
    [LibraryImport(C, SetLastError = true)] public static partial int kill(int pid, int sig);
    [LibraryImport(C, SetLastError = true)] public static partial int waitpid(int pid, int* status, int options);
    [LibraryImport(C)] public static partial uint geteuid();
    [LibraryImport(C)] public static partial uint getegid();
    [LibraryImport(C, SetLastError = true)] public static partial int ioctl(int fd, nuint request, void* arg);
    [LibraryImport(C, SetLastError = true)] public static partial int isatty(int fd);
    [LibraryImport(C, SetLastError = true)] public static partial int tcgetattr(int fd, byte* termios);
    [LibraryImport(C, SetLastError = true)] public static partial int tcsetattr(int fd, int action, byte* termios);
    [LibraryImport(C)] public static partial void cfmakeraw(byte* termios);
    [LibraryImport(C, SetLastError = true)] public static partial nint recvmsg(int fd, MsgHdr* msg, int flags);
    [LibraryImport(C, SetLastError = true)] public static partial nint sendmsg(int fd, MsgHdr* msg, int flags);
    // syscall(2) with three arguments, for calls glibc has no wrapper for (pidfd_getfd).
    [LibraryImport(C, SetLastError = true)] public static partial long syscall(long number, long a1, long a2, long a3);
    [LibraryImport(C, SetLastError = true)] public static partial int socket(int domain, int type, int protocol);
    [LibraryImport(C, SetLastError = true)] public static partial int connect(int fd, byte* addr, int len);
    [LibraryImport(C, SetLastError = true)] public static partial int poll(PollFd* fds, nuint nfds, int timeout);
    [LibraryImport(C)] public static partial nint strerror(int errnum);
    [LibraryImport(C, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int memfd_create(string name, uint flags);
    [LibraryImport(C, SetLastError = true)] public static partial nint pread(int fd, byte* buf, nint len, long offset);
    [LibraryImport(C, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] public static partial int umount2(string target, int flags);

    // posix_spawn: a vfork-style spawn that is safe from a multi-threaded .NET process.
    [LibraryImport(C)] public static partial int posix_spawn_file_actions_init(void* fa);
    [LibraryImport(C)] public static partial int posix_spawn_file_actions_destroy(void* fa);
    [LibraryImport(C)] public static partial int posix_spawn_file_actions_adddup2(void* fa, int fd, int newfd);
    [LibraryImport(C)] public static partial int posix_spawnattr_init(void* attr);
    [LibraryImport(C)] public static partial int posix_spawnattr_destroy(void* attr);
    [LibraryImport(C)] public static partial int posix_spawnattr_setflags(void* attr, short flags);
    [LibraryImport(C)] public static partial int posix_spawnattr_setsigmask(void* attr, void* set);
    [LibraryImport(C)] public static partial int posix_spawnattr_setsigdefault(void* attr, void* set);
    [LibraryImport(C)] public static partial int sigemptyset(void* set);
    [LibraryImport(C)] public static partial int sigfillset(void* set);
    [LibraryImport(C, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int posix_spawn(int* pid, string path, void* fileActions, void* attr, byte** argv, byte** envp);

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name; public uint NameLen; public IoVec* Iov; public nuint IovLen;
        public void* Control; public nuint ControlLen; public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec { public void* Base; public nuint Len; }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd { public int Fd; public short Events; public short Revents; }

    [StructLayout(LayoutKind.Sequential)]
    public struct WinSize { public ushort Rows, Cols, XPixel, YPixel; }

    public const short POLLIN = 1, POLLHUP = 0x10;
}
