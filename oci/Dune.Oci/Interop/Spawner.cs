using System.Runtime.InteropServices;
using System.Text;

namespace Dune.Oci.Interop;

/// <summary>
/// Starts helper programs (dune-init, hooks) with posix_spawn: safe in a multi-threaded
/// process, and the child starts with default signal dispositions and an empty mask
/// (.NET ignores SIGPIPE, which exec would otherwise pass on to the container).
/// </summary>
internal static unsafe class Spawner
{
    /// <param name="fds">child fd number -> parent fd to place there (dup2). Everything else
    /// the parent has is close-on-exec (.NET opens files O_CLOEXEC).</param>
    public static int Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string> env,
                            IReadOnlyList<(int Child, int Parent)> fds)
    {
        const int opaque = 1024; // larger than glibc's posix_spawn_file_actions_t / posix_spawnattr_t
        byte* fa = stackalloc byte[opaque];
        byte* attr = stackalloc byte[opaque];
        byte* sigset = stackalloc byte[128];
        Libc.posix_spawn_file_actions_init(fa);
        Libc.posix_spawnattr_init(attr);
        using var args = new NativeStrings(argv);
        using var envp = new NativeStrings(env);
        try
        {
            // A parent fd may sit on a child number that another mapping needs: move every
            // source out of the way first (dup to a fresh fd above all targets).
            var moved = new List<int>();
            foreach (var (child, parent) in fds)
            {
                if (child == parent)
                {
                    Check(Libc.posix_spawn_file_actions_adddup2(fa, parent, child), "posix_spawn_file_actions_adddup2");
                    continue;
                }
                int tmp = Libc.fcntl(parent, 1030 /* F_DUPFD_CLOEXEC */, 100);
                if (tmp < 0) throw Errno.Error("dup", Errno.Last);
                moved.Add(tmp);
                Check(Libc.posix_spawn_file_actions_adddup2(fa, tmp, child), "posix_spawn_file_actions_adddup2");
            }
            Libc.sigemptyset(sigset);
            Libc.posix_spawnattr_setsigmask(attr, sigset);
            Libc.sigfillset(sigset);
            Libc.posix_spawnattr_setsigdefault(attr, sigset);
            Libc.posix_spawnattr_setflags(attr, (short)(Libc.POSIX_SPAWN_SETSIGMASK | Libc.POSIX_SPAWN_SETSIGDEF));
            int pid;
            int rc = Libc.posix_spawn(&pid, path, fa, attr, args.Pointer, envp.Pointer);
            foreach (var fd in moved) Libc.close(fd);
            if (rc != 0) throw Errno.Error($"cannot start {path}", rc);
            return pid;
        }
        finally
        {
            Libc.posix_spawn_file_actions_destroy(fa);
            Libc.posix_spawnattr_destroy(attr);
        }
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0) throw Errno.Error(what, rc);
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
