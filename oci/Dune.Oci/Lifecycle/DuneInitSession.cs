using Tmds.Linux;
using Dune.Interop;
using Dune.Oci.Interop;
using Dune.Oci.Plan;

namespace Dune.Oci.Lifecycle;

/// <summary>
/// One run of dune-init: spawns it with the plan socket, sends the plan, and reads what it
/// reports (PID, SYNC, READY, ERROR) until the socket closes. See docs/setup-plan.md.
/// </summary>
public sealed unsafe class DuneInitSession : IDisposable
{
    private int _socket;
    private readonly IReadOnlyList<PlanStep> _plan;

    /// <summary>pid of the dune-init process itself (it exits 0 after CLONE).</summary>
    public int HelperPid { get; }
    /// <summary>pid of the process CLONE made (container init or exec'd process), once reported.</summary>
    public int ChildPid { get; private set; }

    private DuneInitSession(int socket, int helperPid, IReadOnlyList<PlanStep> plan)
    {
        _socket = socket;
        HelperPid = helperPid;
        _plan = plan;
    }

    /// <summary>Where dune-init lives: beside the dune binary (DUNE_INIT overrides, for tests).</summary>
    public static string HelperPath =>
        Environment.GetEnvironmentVariable("DUNE_INIT") is { Length: > 0 } p ? p : Path.Combine(AppContext.BaseDirectory, "dune-init");

    /// <param name="preserveFds">fds 3..3+N-1 the container process inherits (--preserve-fds).</param>
    /// <param name="consoleSocket">a connected console socket to hand over, or -1.</param>
    /// <returns>the session and the console fd number as dune-init sees it (null when none).</returns>
    public static (DuneInitSession Session, int? ConsoleChildFd) Start(Func<int?, IReadOnlyList<PlanStep>> plan, int preserveFds, int consoleSocket)
    {
        var helper = HelperPath;
        if (!File.Exists(helper)) throw new RuntimeError($"dune-init not found at {helper}");
        int* sv = stackalloc int[2];
        if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_SEQPACKET | LibC.SOCK_CLOEXEC, 0, sv) != 0)
            throw RuntimeError.OfErrno("socketpair", NativeException.LastErrno);
        int planFd = 3 + preserveFds;
        int? consoleChildFd = consoleSocket >= 0 ? planFd + 1 : null;
        var fds = new List<(int, int)> { (0, 0), (1, 1), (2, 2), (planFd, sv[1]) };
        for (int i = 0; i < preserveFds; i++) fds.Add((3 + i, 3 + i));
        if (consoleSocket >= 0) fds.Add((consoleChildFd!.Value, consoleSocket));
        var steps = plan(consoleChildFd);
        int pid;
        try
        {
            pid = Spawner.Spawn(helper, new[] { "dune-init", planFd.ToString() }, new[] { "PATH=/usr/sbin:/usr/bin:/sbin:/bin" }, fds);
        }
        finally
        {
            LibC.close(sv[1]);
        }
        RuntimeLog.DebugLine($"started {helper} (pid {pid}), plan socket on its fd {planFd}");
        var session = new DuneInitSession(sv[0], pid, steps);
        session.SendPlan();
        return (session, consoleChildFd);
    }

    private void SendPlan()
    {
        if (RuntimeLog.Debug)
            for (int i = 0; i < _plan.Count; i++) RuntimeLog.DebugLine($"plan step {i}: {_plan[i]}");
        foreach (var step in _plan)
            Send(new PlanMessage(PlanMessageKind.Step, (uint)step.Op, step.Args));
        Send(new PlanMessage(PlanMessageKind.End, 0, Array.Empty<byte[]>()));
    }

    /// <summary>Answers SYNC; the states are what RUN_HOOK steps pass on stdin (SELECT_STATE picks one).</summary>
    public void Continue(params byte[][] states) =>
        Send(new PlanMessage(PlanMessageKind.Continue, 0, states));

    private void Send(PlanMessage m)
    {
        var bytes = m.Encode();
        fixed (byte* p = bytes)
        {
            while (true)
            {
                nint n = (nint)LibC.send(_socket, p, (size_t)bytes.Length, 0x4000 /* MSG_NOSIGNAL */);
                if (n == bytes.Length) return;
                int e = NativeException.LastErrno;
                if (n < 0 && e == LibC.EINTR) continue;
                throw new RuntimeError($"dune-init exited during setup (sending the plan: {NativeException.Describe(e)})", e);
            }
        }
    }

    /// <summary>The next message, or null when dune-init (and its child) closed the socket.</summary>
    public PlanMessage? Receive()
    {
        var buf = new byte[1 << 16];
        fixed (byte* p = buf)
        {
            while (true)
            {
                nint n = (nint)LibC.recv(_socket, p, (size_t)buf.Length, 0);
                if (n > 0)
                {
                    var m = PlanMessage.Decode(buf.AsSpan(0, (int)n));
                    if (m.Kind == PlanMessageKind.Pid) ChildPid = (int)m.U64(0);
                    return m;
                }
                if (n == 0) return null;
                int e = NativeException.LastErrno;
                if (e == LibC.EINTR) continue;
                if (e == 104 /* ECONNRESET */) return null;
                throw RuntimeError.OfErrno("reading from dune-init", e);
            }
        }
    }

    /// <summary>Turns an ERROR message into the user's message: op, what it acted on, errno text.</summary>
    public RuntimeError Describe(PlanMessage error)
    {
        var op = Enum.IsDefined((PlanOp)error.Op) ? ToKebab(((PlanOp)error.Op).ToString()) : $"op {error.Op}";
        int index = (int)error.U64(0);
        int errno = (int)error.U64(1);
        var detail = error.Args.Count > 2 ? error.Str(2) : "";
        var text = errno != 0 ? NativeException.Describe(errno) : "failed";
        var what = detail.Length > 0 ? $" {detail}" : "";
        // A hook that failed in the container: dune-init's detail is runc's wording already.
        if ((PlanOp)error.Op == PlanOp.RunHook && detail.StartsWith("error running ", StringComparison.Ordinal))
            return new RuntimeError(detail, errno);
        return new RuntimeError($"container setup failed at step {index} ({op}){what}: {text}", errno);
    }

    private static string ToKebab(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    public void Dispose()
    {
        if (_socket >= 0) { LibC.close(_socket); _socket = -1; }
    }
}
