using Dune.Interop;
using Tmds.Linux;
using Dune.Shim.Interop;

namespace Dune.Shim.Runtime;

/// <summary>
/// OOM notifications of a container's cgroup on cgroup v2: the kernel marks memory.events
/// modified (inotify IN_MODIFY) whenever one of its counters moves, and the shim publishes
/// TaskOOM each time <c>oom_kill</c> grew. The watch ends when the cgroup is removed (the file
/// goes with it: IN_IGNORED).
/// </summary>
internal static unsafe class MemoryEventsWatcher
{
    /// <summary>Calls ON-OOM for each rise of oom_kill until the file is removed. False when it cannot watch.</summary>
    public static bool Start(string cgroupDir, Action onOom, Action<string> log)
    {
        string events = Path.Combine(cgroupDir, "memory.events");
        if (!File.Exists(events)) return false;
        int fd = NativeCalls.inotify_init1(NativeCalls.IN_CLOEXEC);
        if (fd < 0) return false;
        if (NativeCalls.inotify_add_watch(fd, events, NativeCalls.IN_MODIFY | NativeCalls.IN_DELETE_SELF) < 0)
        {
            log($"OOM notifications for {cgroupDir}: inotify_add_watch failed (errno {NativeException.LastErrno})");
            LibC.close(fd);
            return false;
        }
        // Read after the watch is in place: a kill between the two is then counted, not lost.
        ulong seen = OomKills(events) ?? 0;
        new Thread(() => Loop(fd, events, seen, onOom)) { IsBackground = true, Name = "oom-v2" }.Start();
        return true;
    }

    /// <summary>The oom_kill counter of a memory.events file, null when it cannot be read.</summary>
    public static ulong? OomKills(string eventsFile)
    {
        try
        {
            foreach (string line in File.ReadLines(eventsFile))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length == 2 && f[0] == "oom_kill" && ulong.TryParse(f[1], out ulong n)) return n;
            }
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private static void Loop(int fd, string events, ulong seen, Action onOom)
    {
        const int size = 4096;
        byte* buffer = stackalloc byte[size];
        try
        {
            while (true)
            {
                nint n = (nint)LibC.read(fd, buffer, size);
                if (n < 0 && NativeException.LastErrno == LibC.EINTR) continue;
                if (n <= 0) return;
                bool gone = false;
                // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }
                for (nint off = 0; off + 16 <= n; off += 16 + (nint)(*(uint*)(buffer + off + 12)))
                {
                    uint mask = *(uint*)(buffer + off + 4);
                    if ((mask & (NativeCalls.IN_IGNORED | NativeCalls.IN_DELETE_SELF)) != 0) gone = true;
                }
                if (OomKills(events) is ulong now && now > seen)
                {
                    seen = now;
                    onOom();
                }
                if (gone) return;
            }
        }
        finally
        {
            LibC.close(fd);
        }
    }
}
