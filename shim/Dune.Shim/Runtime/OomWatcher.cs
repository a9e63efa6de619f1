using Dune.Interop;
using Tmds.Linux;
using System.Text;
using Dune.Shim.Interop;

namespace Dune.Shim.Runtime;

/// <summary>
/// OOM notifications of a container's memory cgroup (cgroup v1: an eventfd registered with
/// cgroup.event_control for memory.oom_control), so the shim can publish TaskOOM as the
/// kernel reports it instead of polling. The eventfd also fires when the cgroup is removed.
/// </summary>
internal static unsafe class OomWatcher
{
    /// <summary>The memory cgroup directory of PID on a v1 hierarchy, or null (v2 or no memory controller).</summary>
    public static string? MemoryCgroupOf(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/cgroup"))
        {
            var parts = line.Split(':', 3);
            if (parts.Length == 3 && parts[1].Split(',').Contains("memory"))
            {
                var dir = "/sys/fs/cgroup/memory" + parts[2];
                return Directory.Exists(dir) ? dir : null;
            }
        }
        return null;
    }

    /// <summary>Calls ON-OOM for each OOM in the cgroup until it is removed. False when it cannot watch.</summary>
    public static bool Start(string cgroup, Action onOom, Action<string> log)
    {
        int efd = LibC.eventfd(0, LibC.EFD_CLOEXEC);
        if (efd < 0) return false;
        int control = PathCalls.Open(Path.Combine(cgroup, "memory.oom_control"), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        if (control < 0)
        {
            LibC.close(efd);
            return false;
        }
        try
        {
            File.WriteAllText(Path.Combine(cgroup, "cgroup.event_control"), $"{efd} {control}");
        }
        catch (IOException e)
        {
            log($"OOM notifications for {cgroup}: {e.Message}");
            LibC.close(efd);
            LibC.close(control);
            return false;
        }
        new Thread(() => Loop(efd, control, cgroup, onOom)) { IsBackground = true, Name = "oom" }.Start();
        return true;
    }

    private static void Loop(int efd, int control, string cgroup, Action onOom)
    {
        try
        {
            ulong count;
            while (true)
            {
                nint n = (nint)LibC.read(efd, (byte*)&count, 8);
                if (n < 0 && NativeException.LastErrno == LibC.EINTR) continue;
                if (n != 8) return;
                // The same wake-up announces the cgroup's removal: no OOM then.
                if (!Directory.Exists(cgroup)) return;
                onOom();
            }
        }
        finally
        {
            LibC.close(efd);
            LibC.close(control);
        }
    }
}
