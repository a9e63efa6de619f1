using Dune.Interop;
using Tmds.Linux;
using System.Runtime.InteropServices;

namespace Dune.Oci.Interop;

/// <summary>
/// Waiting in the foreground for a container process that is our child (run, exec), passing
/// on the signals we receive, as runc does.
/// </summary>
public static class ChildProcess
{
    private static readonly PosixSignal[] Forwarded =
    {
        PosixSignal.SIGHUP, PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGTERM,
        (PosixSignal)10 /* SIGUSR1 */, (PosixSignal)12 /* SIGUSR2 */,
    };

    /// <summary>Waits for <paramref name="pid"/>; returns its exit code or 128+signal.</summary>
    public static int WaitForwardingSignals(int pid)
    {
        var registrations = new List<PosixSignalRegistration>();
        foreach (var s in Forwarded)
        {
            registrations.Add(PosixSignalRegistration.Create(s, ctx =>
            {
                ctx.Cancel = true;
                LibC.kill(pid, RawNumber(ctx.Signal));
            }));
        }
        try
        {
            var status = ProcessWait.Wait(pid);
            return status is int st ? ProcessWait.ShellStatus(st) : 255;
        }
        finally
        {
            foreach (var r in registrations) r.Dispose();
        }
    }

    // .NET maps its PosixSignal names to negative values; raw numbers pass through.
    private static int RawNumber(PosixSignal s) => s switch
    {
        PosixSignal.SIGHUP => 1, PosixSignal.SIGINT => 2, PosixSignal.SIGQUIT => 3, PosixSignal.SIGTERM => 15,
        PosixSignal.SIGWINCH => 28, PosixSignal.SIGCHLD => 17, PosixSignal.SIGCONT => 18,
        PosixSignal.SIGTSTP => 20, PosixSignal.SIGTTIN => 21, PosixSignal.SIGTTOU => 22,
        _ => (int)s,
    };
}
