using Tmds.Linux;
using Dune.Interop;
using System.Text;

namespace Dune.Oci.Interop;

/// <summary>Runs a host program and returns what it printed (for `ps`).</summary>
public static unsafe class CommandOutput
{
    public static (int Status, string Output) Run(string program, IReadOnlyList<string> argv)
    {
        int* p = stackalloc int[2];
        if (LibC.pipe2(p, LibC.O_CLOEXEC) != 0) throw RuntimeError.OfErrno("pipe", NativeException.LastErrno);
        int pid;
        try
        {
            pid = Spawner.Spawn(program, argv, new[] { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C" }, new[] { (0, 0), (1, p[1]), (2, 2) });
        }
        finally
        {
            LibC.close(p[1]);
        }
        var output = new MemoryStream();
        var buf = new byte[8192];
        fixed (byte* b = buf)
        {
            while (true)
            {
                nint n = (nint)LibC.read(p[0], b, (size_t)buf.Length);
                if (n < 0 && NativeException.LastErrno == LibC.EINTR) continue;
                if (n <= 0) break;
                output.Write(buf, 0, (int)n);
            }
        }
        LibC.close(p[0]);
        var status = ProcessWait.Wait(pid);
        return (status is int s ? ProcessWait.ShellStatus(s) : 255, Encoding.UTF8.GetString(output.ToArray()));
    }
}
