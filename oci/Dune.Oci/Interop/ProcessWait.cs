using Dune.Interop;
using Tmds.Linux;
namespace Dune.Oci.Interop;

/// <summary>Waiting for our own children, and decoding wait statuses as a shell does.</summary>
internal static unsafe class ProcessWait
{
    /// <summary>Blocks until <paramref name="pid"/> exits; returns the raw wait status, or null if it is not our child.</summary>
    public static int? Wait(int pid)
    {
        int status;
        while (true)
        {
            int rc = NativeCalls.waitpid(pid, &status, 0);
            if (rc == pid) return status;
            int e = NativeException.LastErrno;
            if (rc < 0 && e == LibC.EINTR) continue;
            return null;
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/>; null when it is still running then.</summary>
    public static int? WaitFor(int pid, TimeSpan timeout, out bool notChild)
    {
        notChild = false;
        var deadline = DateTime.UtcNow + timeout;
        int delayMs = 1;
        while (true)
        {
            int status;
            int rc = NativeCalls.waitpid(pid, &status, NativeCalls.WNOHANG);
            if (rc == pid) return status;
            if (rc < 0 && NativeException.LastErrno != LibC.EINTR) { notChild = true; return null; }
            if (DateTime.UtcNow >= deadline) return null;
            Thread.Sleep(delayMs);
            delayMs = Math.Min(delayMs * 2, 20);
        }
    }

    public static bool Exited(int status) => (status & 0x7f) == 0;
    public static int ExitCode(int status) => (status >> 8) & 0xff;
    public static int TermSignal(int status) => status & 0x7f;

    /// <summary>The shell convention runc follows: the exit code, or 128 + the killing signal.</summary>
    public static int ShellStatus(int status) => Exited(status) ? ExitCode(status) : 128 + TermSignal(status);

    public static string Describe(int status) =>
        Exited(status) ? $"exited with status {ExitCode(status)}" : $"was killed by signal {TermSignal(status)}";
}
