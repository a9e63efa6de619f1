using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Dune.Interop;

/// <summary>
/// Starts programs (dune, dune-init, hooks, host tools) with posix_spawn: safe in a
/// multi-threaded process; the child starts with default signal dispositions and an empty
/// mask (.NET ignores SIGPIPE, which exec would otherwise pass on), optionally in a new session.
/// </summary>
public static unsafe class Spawner
{
    /// <param name="fds">child fd number -> parent fd to place there (dup2). Every other parent
    /// fd is close-on-exec (.NET and dune open everything O_CLOEXEC).</param>
    /// <param name="newSession">setsid() in the child (a shim's detached processes).</param>
    public static int Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string> env,
                            IReadOnlyList<(int Child, int Parent)> fds, bool newSession = false)
    {
        const int opaque = 1024; // larger than glibc's posix_spawn_file_actions_t / posix_spawnattr_t
        byte* fa = stackalloc byte[opaque];
        byte* attr = stackalloc byte[opaque];
        sigset_t sigset;
        NativeCalls.posix_spawn_file_actions_init(fa);
        NativeCalls.posix_spawnattr_init(attr);
        var moved = new List<int>();
        using var cpath = new NativeStrings([path]);
        using var args = new NativeStrings(argv);
        using var envp = new NativeStrings(env);
        try
        {
            // A parent fd may sit on a child number that another mapping needs, so each source
            // is first duplicated above every child number (the one floor: the highest target
            // plus one, so no dup2 of the file actions can overwrite a source still to come).
            // A mapping onto its own number stays as it is: dup2(fd, fd) in the file actions
            // only clears close-on-exec (glibc >= 2.29), and no other mapping can target it.
            int floor = fds.Count == 0 ? 3 : fds.Max(m => m.Child) + 1;
            foreach (var (child, parent) in fds)
            {
                int source = parent;
                if (child != parent)
                {
                    source = fcntl(parent, F_DUPFD_CLOEXEC, floor);
                    if (source < 0) throw NativeException.Last($"cannot start {path}: dup fd {parent}");
                    moved.Add(source);
                }
                Check(NativeCalls.posix_spawn_file_actions_adddup2(fa, source, child), "posix_spawn_file_actions_adddup2");
            }
            sigemptyset(&sigset);
            NativeCalls.posix_spawnattr_setsigmask(attr, &sigset);
            sigfillset(&sigset);
            NativeCalls.posix_spawnattr_setsigdefault(attr, &sigset);
            short flags = NativeCalls.POSIX_SPAWN_SETSIGMASK | NativeCalls.POSIX_SPAWN_SETSIGDEF;
            if (newSession) flags |= NativeCalls.POSIX_SPAWN_SETSID;
            NativeCalls.posix_spawnattr_setflags(attr, flags);
            int pid;
            int rc = NativeCalls.posix_spawn(&pid, cpath.Pointer[0], fa, attr, args.Pointer, envp.Pointer);
            if (rc != 0) throw NativeException.Of($"cannot start {path}", rc);
            return pid;
        }
        finally
        {
            foreach (var fd in moved) close(fd);
            NativeCalls.posix_spawn_file_actions_destroy(fa);
            NativeCalls.posix_spawnattr_destroy(attr);
        }
    }

    /// <summary>The current environment as NAME=VALUE strings.</summary>
    public static List<string> CurrentEnvironment()
    {
        var list = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            list.Add($"{e.Key}={e.Value}");
        return list;
    }

    // posix_spawn's helpers return the error number instead of setting errno.
    private static void Check(int rc, string what)
    {
        if (rc != 0) throw NativeException.Of(what, rc);
    }

    /// <summary>A NULL-terminated char* array in unmanaged memory.</summary>
    private sealed class NativeStrings : IDisposable
    {
        private readonly List<nint> _blocks = new();
        public byte** Pointer { get; }

        public NativeStrings(IReadOnlyList<string> items)
        {
            Pointer = (byte**)NativeMemory.Alloc((nuint)(items.Count + 1), (nuint)sizeof(byte*));
            for (int i = 0; i < items.Count; i++)
            {
                var bytes = Encoding.UTF8.GetBytes(items[i]);
                var p = (byte*)NativeMemory.Alloc((nuint)bytes.Length + 1);
                bytes.CopyTo(new Span<byte>(p, bytes.Length));
                p[bytes.Length] = 0;
                _blocks.Add((nint)p);
                Pointer[i] = p;
            }
            Pointer[items.Count] = null;
        }

        public void Dispose()
        {
            foreach (var b in _blocks) NativeMemory.Free((void*)b);
            NativeMemory.Free(Pointer);
        }
    }
}
