using Dune.Interop;
using System.Text;

namespace Dune.Oci.Interop;

/// <summary>Runs a host program and returns what it printed (for `ps`).</summary>
public static unsafe class CommandOutput
{
    public static (int Status, string Output) Run(string program, IReadOnlyList<string> argv)
    {
        int* p = stackalloc int[2];
        if (Libc.pipe2(p, Libc.O_CLOEXEC) != 0) throw Errno.Error("pipe", Errno.Last);
        int pid;
        try
        {
            pid = Spawner.Spawn(program, argv, new[] { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C" }, new[] { (0, 0), (1, p[1]), (2, 2) });
        }
        finally
        {
            Libc.close(p[1]);
        }
        var output = new MemoryStream();
        var buf = new byte[8192];
        fixed (byte* b = buf)
        {
            while (true)
            {
                nint n = Libc.read(p[0], b, buf.Length);
                if (n < 0 && Errno.Last == Libc.EINTR) continue;
                if (n <= 0) break;
                output.Write(buf, 0, (int)n);
            }
        }
        Libc.close(p[0]);
        var status = ProcessWait.Wait(pid);
        return (status is int s ? ProcessWait.ShellStatus(s) : 255, Encoding.UTF8.GetString(output.ToArray()));
    }
}
