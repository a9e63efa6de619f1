using System.Runtime.InteropServices;
using System.Text;

namespace Dune.Shim.Interop;

/// <summary>
/// posix_spawn with the child's fds placed by dup2, default signal dispositions and an
/// empty mask (.NET ignores SIGPIPE; exec would pass that on), optionally in a new session.
/// </summary>
internal static unsafe class Spawner
{
    /// <param name="fds">child fd -> parent fd to dup2 there; every other parent fd is
    /// close-on-exec (.NET and this shim open everything O_CLOEXEC).</param>
    public static int Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string> env,
        IReadOnlyList<(int Child, int Parent)> fds, bool newSession = false)
    {
        const int opaque = 1024; // above glibc's posix_spawn_file_actions_t and posix_spawnattr_t
        byte* fa = stackalloc byte[opaque];
        byte* attr = stackalloc byte[opaque];
        byte* sigset = stackalloc byte[128];
        Libc.posix_spawn_file_actions_init(fa);
        Libc.posix_spawnattr_init(attr);
        var blocks = new List<nint>();
        var moved = new List<int>();
        try
        {
            // Move every source above the child's numbers first, so that no dup2 overwrites
            // a source that a later dup2 still needs.
            foreach (var (child, parent) in fds)
            {
                int tmp = Libc.fcntl(parent, Libc.F_DUPFD_CLOEXEC, 64);
                if (tmp < 0) throw NativeException.Last($"dup fd {parent}");
                moved.Add(tmp);
                Check(Libc.posix_spawn_file_actions_adddup2(fa, tmp, child), "posix_spawn_file_actions_adddup2");
            }
            Libc.sigemptyset(sigset);
            Libc.posix_spawnattr_setsigmask(attr, sigset);
            Libc.sigfillset(sigset);
            Libc.posix_spawnattr_setsigdefault(attr, sigset);
            short flags = Libc.POSIX_SPAWN_SETSIGMASK | Libc.POSIX_SPAWN_SETSIGDEF;
            if (newSession) flags |= Libc.POSIX_SPAWN_SETSID;
            Libc.posix_spawnattr_setflags(attr, flags);
            byte* cpath = CString(path, blocks);
            byte** cargv = CStrings(argv, blocks);
            byte** cenv = CStrings(env, blocks);
            int pid;
            int rc = Libc.posix_spawn(&pid, cpath, fa, attr, cargv, cenv);
            if (rc != 0) throw new NativeException($"cannot start {path}", rc);
            return pid;
        }
        finally
        {
            foreach (var fd in moved) Libc.close(fd);
            foreach (var b in blocks) NativeMemory.Free((void*)b);
            Libc.posix_spawn_file_actions_destroy(fa);
            Libc.posix_spawnattr_destroy(attr);
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

    private static void Check(int rc, string what)
    {
        if (rc != 0) throw new NativeException(what, rc);
    }

    private static byte* CString(string s, List<nint> blocks)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        var p = (byte*)NativeMemory.Alloc((nuint)bytes.Length + 1);
        blocks.Add((nint)p);
        bytes.CopyTo(new Span<byte>(p, bytes.Length));
        p[bytes.Length] = 0;
        return p;
    }

    private static byte** CStrings(IReadOnlyList<string> items, List<nint> blocks)
    {
        var array = (byte**)NativeMemory.Alloc((nuint)(items.Count + 1), (nuint)sizeof(byte*));
        blocks.Add((nint)array);
        for (int i = 0; i < items.Count; i++) array[i] = CString(items[i], blocks);
        array[items.Count] = null;
        return array;
    }
}
