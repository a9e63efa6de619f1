using Dune.Interop;
using Tmds.Linux;
using Dune.Oci.Interop;
using Dune.Oci.Spec;
using Dune.Oci.State;

namespace Dune.Oci.Lifecycle;

/// <summary>`start`: release the init waiting on the exec fifo, then run poststart hooks.</summary>
public static unsafe class StartOperation
{
    public static void Run(RuntimeContext ctx, string id)
    {
        ContainerRecord record;
        using (ctx.Store.Lock(id))
        {
            record = ctx.Store.Load(id);
            var status = ContainerStatus.Of(record, ctx.Store);
            if (status != ContainerStatus.Created)
                throw new RuntimeError($"cannot start container \"{id}\": it is {status} (only a created container can be started)");
            ReleaseFifo(ctx.Store.ExecFifo(id), record);
            File.Delete(ctx.Store.ExecFifo(id));
        }
        var state = ContainerStatus.StateJson(CreateOperation.HookState(record, ContainerStatus.Running));
        foreach (var f in HookRunner.RunAll(HookKinds.Poststart, HookKinds.Of(record.Config.Hooks, HookKinds.Poststart), state))
            RuntimeLog.Warn(f);
    }

    /// <summary>
    /// Opens the fifo for reading without blocking and waits for the init's byte, then for
    /// end-of-file (the init's end closes when it execs the program). If the init dies
    /// before writing (it never opens its end), say so instead of hanging.
    /// </summary>
    private static void ReleaseFifo(string fifo, ContainerRecord record)
    {
        int fd = PathCalls.Open(fifo, LibC.O_RDONLY | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0);
        if (fd < 0) throw RuntimeError.OfErrno($"cannot open exec fifo {fifo}", NativeException.LastErrno);
        try
        {
            var pfd = new pollfd { fd = fd, events = LibC.POLLIN };
            bool released = false;
            while (true)
            {
                int rc = LibC.poll(&pfd, 1, 100);
                if (rc > 0 && (pfd.revents & (LibC.POLLIN | LibC.POLLHUP)) != 0)
                {
                    byte b;
                    nint n = (nint)LibC.read(fd, &b, (size_t)1);
                    if (n == 1) released = true;
                    // End of file: the init exec'd its program (its end is close-on-exec) or died.
                    else if (n == 0 && released) return;
                }
                if (!released && !ProcStat.IsAlive(record.InitPid, record.InitStartTime))
                    throw new RuntimeError($"cannot start container \"{record.Id}\": its init process exited before start");
            }
        }
        finally
        {
            LibC.close(fd);
        }
    }
}
