using Tmds.Linux;
using Dune.Interop;
using Dune.Shim.Interop;

namespace Dune.Shim.Processes;

/// <summary>
/// The shim is its containers' subreaper: one thread waits for every child (the `dune`
/// commands it runs and the container processes reparented to it) and hands each exit to
/// whoever watches that pid. An exit nobody watches yet is kept, because a container's
/// process can die before the shim has read its pid file.
/// </summary>
internal sealed unsafe class Reaper
{
    private readonly object _lock = new();
    private readonly Dictionary<int, TaskCompletionSource<ExitStatus>> _watchers = new();
    private readonly Dictionary<int, ExitStatus> _unclaimed = new();
    private readonly SemaphoreSlim _childAdded = new(0);
    private const int MaxUnclaimed = 4096;

    /// <summary>Makes this process the subreaper of its descendants and starts reaping.</summary>
    public void Start()
    {
        if (NativeCalls.prctl(NativeCalls.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
            throw NativeException.Last("prctl(PR_SET_CHILD_SUBREAPER)");
        new Thread(Loop) { IsBackground = true, Name = "reaper" }.Start();
    }

    /// <summary>Starts a child and returns its pid and its exit, registered before it can be reaped.</summary>
    public (int Pid, Task<ExitStatus> Exit) Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string> env,
        IReadOnlyList<(int Child, int Parent)> fds, bool newSession = false)
    {
        var exit = new TaskCompletionSource<ExitStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        int pid;
        lock (_lock)
        {
            pid = Spawner.Spawn(path, argv, env, fds, newSession);
            _watchers[pid] = exit;
        }
        _childAdded.Release();
        return (pid, exit.Task);
    }

    /// <summary>The exit of a process that became our child by reparenting (a container's process).</summary>
    public Task<ExitStatus> Watch(int pid)
    {
        lock (_lock)
        {
            if (_unclaimed.Remove(pid, out var done)) return Task.FromResult(done);
            if (!_watchers.TryGetValue(pid, out var tcs))
            {
                tcs = new TaskCompletionSource<ExitStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
                _watchers[pid] = tcs;
            }
            return tcs.Task;
        }
    }

    private void Loop()
    {
        while (true)
        {
            int raw;
            int pid = NativeCalls.waitpid(-1, &raw, 0);
            if (pid < 0)
            {
                int errno = NativeException.LastErrno;
                // No child at all: sleep until we start one (reparented ones come through a child of ours).
                if (errno == LibC.ECHILD) _childAdded.Wait(TimeSpan.FromSeconds(1));
                continue;
            }
            var exit = ExitStatus.FromWaitStatus(raw, DateTime.UtcNow);
            lock (_lock)
            {
                if (_watchers.Remove(pid, out var tcs))
                {
                    tcs.TrySetResult(exit);
                }
                else
                {
                    if (_unclaimed.Count >= MaxUnclaimed) _unclaimed.Clear();
                    _unclaimed[pid] = exit;
                }
            }
        }
    }
}
