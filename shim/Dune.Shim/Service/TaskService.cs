using Tmds.Linux;
using Dune.Interop;
using System.Text.Json;
using Dune.Shim.Api;
using Dune.Shim.Events;
using Dune.Shim.Interop;
using Dune.Shim.Processes;
using Dune.Shim.Runtime;
using Dune.Shim.Ttrpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Dune.Shim.Service;

/// <summary>
/// containerd.task.v2.Task for the containers of one shim (one, or a pod's): each call
/// drives the `dune` CLI, the reaper supplies exit statuses, and events go out in runtime
/// v2 order (create, start, exit, delete; exec-added, exec-started, exit; paused, resumed).
/// </summary>
/// <param name="duneFor">the dune CLI for a bundle (it logs into the bundle)</param>
internal sealed class TaskService(Func<string, DuneCli> duneFor, Reaper reaper, EventPublisher events,
    Action requestShutdown, Action<string> log)
{
    public const string ServiceName = "containerd.task.v2.Task";
    public const string Version = "0.1.0";

    private readonly object _lock = new();
    private readonly Dictionary<string, ShimContainer> _containers = new();

    public void Register(TtrpcServiceRegistry registry)
    {
        registry.Register(ServiceName, "State", StateRequest.Parser, State);
        registry.Register(ServiceName, "Create", CreateTaskRequest.Parser, Create);
        registry.Register(ServiceName, "Start", StartRequest.Parser, Start);
        registry.Register(ServiceName, "Delete", DeleteRequest.Parser, Delete);
        registry.Register(ServiceName, "Pids", PidsRequest.Parser, Pids);
        registry.Register(ServiceName, "Pause", PauseRequest.Parser, Pause);
        registry.Register(ServiceName, "Resume", ResumeRequest.Parser, Resume);
        registry.Register(ServiceName, "Checkpoint", CheckpointTaskRequest.Parser, Checkpoint);
        registry.Register(ServiceName, "Kill", KillRequest.Parser, Kill);
        registry.Register(ServiceName, "Exec", ExecProcessRequest.Parser, Exec);
        registry.Register(ServiceName, "ResizePty", ResizePtyRequest.Parser, ResizePty);
        registry.Register(ServiceName, "CloseIO", CloseIORequest.Parser, CloseIO);
        registry.Register(ServiceName, "Update", UpdateTaskRequest.Parser, Update);
        registry.Register(ServiceName, "Wait", WaitRequest.Parser, Wait);
        registry.Register(ServiceName, "Stats", StatsRequest.Parser, Stats);
        registry.Register(ServiceName, "Connect", ConnectRequest.Parser, Connect);
        registry.Register(ServiceName, "Shutdown", ShutdownRequest.Parser, Shutdown);
    }

    // ------------------------------------------------------------------ lifecycle

    private async Task<CreateTaskResponse> Create(CreateTaskRequest req, TtrpcCall call)
    {
        if (req.Checkpoint.Length > 0)
            throw new TtrpcException(StatusCode.Unimplemented, "containerd-shim-dune-v2: restoring from a checkpoint is not supported");
        var c = new ShimContainer(req.Id, req.Bundle, duneFor(req.Bundle));
        lock (_lock)
        {
            if (_containers.TryGetValue(req.Id, out var existing) && !existing.Deleted)
                throw new TtrpcException(StatusCode.AlreadyExists, $"task {req.Id} already exists in this shim");
            _containers[req.Id] = c;
        }
        var process = new ShimProcess("", req.Stdin, req.Stdout, req.Stderr, req.Terminal);
        try
        {
            RootfsMounts.Mount(req.Rootfs, c.Rootfs);
            c.RootfsMounted = req.Rootfs.Count > 0;
            var pidFile = Path.Combine(req.Bundle, "init.pid");
            await RunWithIoAsync(c, ["create", "--bundle", req.Bundle, "--pid-file", pidFile], process).ConfigureAwait(false);
            process.Pid = ReadPid(pidFile);
        }
        catch (Exception e)
        {
            process.CloseStdin();
            if (c.RootfsMounted) TryUnmount(c.Rootfs);
            c.RootfsMounted = false;
            lock (_lock) _containers.Remove(req.Id);
            throw e switch
            {
                TtrpcException => e,
                NativeException n => new TtrpcException(ErrnoStatus.Of(n.Errno), $"create {req.Id}: {e.Message}"),
                _ => new TtrpcException(StatusCode.Unknown, $"create {req.Id}: {e.Message}"),
            };
        }
        lock (_lock) c.Init = process;
        Track(c, process);
        WatchOom(c, process.Pid);
        var created = new TaskCreate
        {
            ContainerId = req.Id,
            Bundle = req.Bundle,
            Io = new TaskIO { Stdin = req.Stdin, Stdout = req.Stdout, Stderr = req.Stderr, Terminal = req.Terminal },
            Checkpoint = req.Checkpoint,
            Pid = (uint)process.Pid,
        };
        created.Rootfs.AddRange(req.Rootfs);
        events.Publish("/tasks/create", created);
        return new CreateTaskResponse { Pid = (uint)process.Pid };
    }

    private async Task<StartResponse> Start(StartRequest req, TtrpcCall call)
    {
        var (c, p) = Find(req.Id, req.ExecId);
        if (p.Phase != ProcessPhase.Created || p.Exit is not null)
            throw new TtrpcException(StatusCode.FailedPrecondition, $"process {Name(c, p)} is not in the created state");
        if (p.IsInit)
        {
            await c.Dune.RunAsync(["start", c.Id]).ConfigureAwait(false);
        }
        else
        {
            var specFile = Path.Combine(c.Bundle, $"exec-{p.ExecId}.json");
            var pidFile = Path.Combine(c.Bundle, $"exec-{p.ExecId}.pid");
            await File.WriteAllBytesAsync(specFile, p.ProcessSpec ?? []).ConfigureAwait(false);
            try
            {
                await RunWithIoAsync(c, ["exec", "--process", specFile, "--detach", "--pid-file", pidFile], p).ConfigureAwait(false);
                p.Pid = ReadPid(pidFile);
            }
            finally
            {
                File.Delete(specFile);
                File.Delete(pidFile);
            }
            Track(c, p);
        }
        lock (_lock)
        {
            if (p.Phase == ProcessPhase.Created) p.Phase = ProcessPhase.Running;
            p.StartAnnounced = true;
            if (p.IsInit)
                events.Publish("/tasks/start", new TaskStart { ContainerId = c.Id, Pid = (uint)p.Pid });
            else
                events.Publish("/tasks/exec-started", new TaskExecStarted { ContainerId = c.Id, ExecId = p.ExecId, Pid = (uint)p.Pid });
            // An exit seen while starting is announced only now, after its start.
            if (p.Exit is not null && !p.ExitAnnounced) AnnounceExit(c, p);
        }
        return new StartResponse { Pid = (uint)p.Pid };
    }

    private async Task<DeleteResponse> Delete(DeleteRequest req, TtrpcCall call)
    {
        var (c, p) = Find(req.Id, req.ExecId);
        if (!p.IsInit)
        {
            lock (_lock)
            {
                if (p.Phase != ProcessPhase.Stopped && p.Phase != ProcessPhase.Created)
                    throw new TtrpcException(StatusCode.FailedPrecondition, $"exec {p.ExecId} is still running");
                c.Execs.Remove(p.ExecId);
            }
            p.CloseStdin();
            return Deleted(p);
        }
        lock (_lock)
        {
            if (p.Phase is ProcessPhase.Running or ProcessPhase.Paused && p.Exit is null)
                throw new TtrpcException(StatusCode.FailedPrecondition, $"task {c.Id} is still running: kill it first");
        }
        // A created task that never started: delete --force ends its init.
        await c.Dune.RunAsync(p.Exit is null ? ["delete", "--force", c.Id] : ["delete", c.Id]).ConfigureAwait(false);
        if (p.Exit is null)
        {
            try { await p.Exited.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false); }
            catch (TimeoutException) { log($"delete {c.Id}: init {p.Pid} not reaped within 10 s"); }
        }
        if (c.RootfsMounted)
        {
            TryUnmount(c.Rootfs);
            c.RootfsMounted = false;
        }
        p.CloseStdin();
        lock (_lock)
        {
            if (p.Exit is not null && !p.ExitAnnounced) AnnounceExit(c, p);
            // The container is gone, and its exec'd processes with it.
            foreach (var exec in c.Execs.Values) exec.CloseStdin();
            c.Execs.Clear();
            c.Deleted = true;
            events.Publish("/tasks/delete", new TaskDelete
            {
                ContainerId = c.Id,
                Pid = (uint)p.Pid,
                ExitStatus = p.Exit?.Status ?? 0,
                ExitedAt = p.Exit is { } e ? Timestamp.FromDateTime(e.ExitedAt) : null,
            });
        }
        return Deleted(p);
    }

    private static DeleteResponse Deleted(ShimProcess p) => new()
    {
        Pid = (uint)p.Pid,
        ExitStatus = p.Exit?.Status ?? 0,
        ExitedAt = p.Exit is { } e ? Timestamp.FromDateTime(e.ExitedAt) : null,
    };

    private Task<Empty> Exec(ExecProcessRequest req, TtrpcCall call)
    {
        if (req.ExecId.Length == 0) throw new TtrpcException(StatusCode.InvalidArgument, "exec id is empty");
        lock (_lock)
        {
            var c = ContainerOf(req.Id);
            if (c.Init!.Exit is not null) throw new TtrpcException(StatusCode.FailedPrecondition, $"task {c.Id} has exited");
            if (c.Execs.ContainsKey(req.ExecId)) throw new TtrpcException(StatusCode.AlreadyExists, $"exec {req.ExecId} already exists");
            c.Execs[req.ExecId] = new ShimProcess(req.ExecId, req.Stdin, req.Stdout, req.Stderr, req.Terminal)
            {
                ProcessSpec = req.Spec?.Value.ToByteArray() ?? throw new TtrpcException(StatusCode.InvalidArgument, "exec without a process spec"),
            };
            events.Publish("/tasks/exec-added", new TaskExecAdded { ContainerId = c.Id, ExecId = req.ExecId });
        }
        return Task.FromResult(new Empty());
    }

    private async Task<WaitResponse> Wait(WaitRequest req, TtrpcCall call)
    {
        var (_, p) = Find(req.Id, req.ExecId);
        var exit = await p.Exited.Task.WaitAsync(call.Cancel).ConfigureAwait(false);
        return new WaitResponse { ExitStatus = exit.Status, ExitedAt = Timestamp.FromDateTime(exit.ExitedAt) };
    }

    // ------------------------------------------------------------------ control

    private async Task<Empty> Kill(KillRequest req, TtrpcCall call)
    {
        var (c, p) = Find(req.Id, req.ExecId);
        if (!p.IsInit)
        {
            if (p.Exit is not null || p.Pid == 0)
                throw new TtrpcException(StatusCode.NotFound, $"exec {p.ExecId}: process already finished");
            if (LibC.kill(p.Pid, (int)req.Signal) != 0)
            {
                int errno = NativeException.LastErrno;
                throw new TtrpcException(ErrnoStatus.Of(errno),
                    $"kill exec {p.ExecId}: {NativeException.Describe(errno)}");
            }
            return new Empty();
        }
        if (p.Exit is not null && !req.All)
            throw new TtrpcException(StatusCode.NotFound, $"task {c.Id}: process already finished");
        var args = new List<string> { "kill" };
        if (req.All) args.Add("--all");
        args.Add(c.Id);
        args.Add(req.Signal.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await c.Dune.RunAsync(args).ConfigureAwait(false);
        return new Empty();
    }

    private async Task<Empty> Pause(PauseRequest req, TtrpcCall call)
    {
        var c = ContainerOf(req.Id);
        await c.Dune.RunAsync(["pause", c.Id]).ConfigureAwait(false);
        lock (_lock)
        {
            if (c.Init!.Phase == ProcessPhase.Running) c.Init.Phase = ProcessPhase.Paused;
            events.Publish("/tasks/paused", new TaskPaused { ContainerId = c.Id });
        }
        return new Empty();
    }

    private async Task<Empty> Resume(ResumeRequest req, TtrpcCall call)
    {
        var c = ContainerOf(req.Id);
        await c.Dune.RunAsync(["resume", c.Id]).ConfigureAwait(false);
        lock (_lock)
        {
            if (c.Init!.Phase == ProcessPhase.Paused) c.Init.Phase = ProcessPhase.Running;
            events.Publish("/tasks/resumed", new TaskResumed { ContainerId = c.Id });
        }
        return new Empty();
    }

    private Task<Empty> Checkpoint(CheckpointTaskRequest req, TtrpcCall call) =>
        throw new TtrpcException(StatusCode.Unimplemented,
            "containerd-shim-dune-v2: checkpoint is not supported (dune has no checkpoint/restore of Dune processes)");

    private Task<Empty> ResizePty(ResizePtyRequest req, TtrpcCall call)
    {
        var (_, p) = Find(req.Id, req.ExecId);
        // A process without a terminal has nothing to resize (runc's shim answers the same way).
        p.Tty?.Resize(req.Width, req.Height);
        return Task.FromResult(new Empty());
    }

    private Task<Empty> CloseIO(CloseIORequest req, TtrpcCall call)
    {
        var (_, p) = Find(req.Id, req.ExecId);
        if (req.Stdin) p.CloseStdin();
        return Task.FromResult(new Empty());
    }

    private async Task<Empty> Update(UpdateTaskRequest req, TtrpcCall call)
    {
        var c = ContainerOf(req.Id);
        if (req.Resources is null) throw new TtrpcException(StatusCode.InvalidArgument, "update without resources");
        var file = Path.Combine(c.Bundle, "update-resources.json");
        await File.WriteAllBytesAsync(file, req.Resources.Value.ToByteArray()).ConfigureAwait(false);
        try
        {
            await c.Dune.RunAsync(["update", "--resources", file, c.Id]).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(file);
        }
        return new Empty();
    }

    // ------------------------------------------------------------------ queries

    private Task<StateResponse> State(StateRequest req, TtrpcCall call)
    {
        var (c, p) = Find(req.Id, req.ExecId);
        lock (_lock)
        {
            var status = p.Exit is not null ? Status.Stopped : p.Phase switch
            {
                ProcessPhase.Created => Status.Created,
                ProcessPhase.Running => Status.Running,
                ProcessPhase.Paused => Status.Paused,
                _ => Status.Stopped,
            };
            return Task.FromResult(new StateResponse
            {
                Id = p.IsInit ? c.Id : p.ExecId,
                Bundle = c.Bundle,
                Pid = (uint)p.Pid,
                Status = status,
                Stdin = p.Stdin,
                Stdout = p.Stdout,
                Stderr = p.Stderr,
                Terminal = p.Terminal,
                ExitStatus = p.Exit?.Status ?? 0,
                ExitedAt = p.Exit is { } e ? Timestamp.FromDateTime(e.ExitedAt) : null,
                ExecId = p.ExecId,
            });
        }
    }

    private async Task<PidsResponse> Pids(PidsRequest req, TtrpcCall call)
    {
        var c = ContainerOf(req.Id);
        var json = await c.Dune.OutputAsync(["ps", "--format", "json", c.Id]).ConfigureAwait(false);
        var response = new PidsResponse();
        using var doc = JsonDocument.Parse(json);
        foreach (var pid in doc.RootElement.EnumerateArray())
            response.Processes.Add(new ProcessInfo { Pid = pid.GetUInt32() });
        return response;
    }

    private async Task<StatsResponse> Stats(StatsRequest req, TtrpcCall call)
    {
        var c = ContainerOf(req.Id);
        if (CgroupV2Dir.HostIsUnified())
        {
            string dir = c.CgroupV2Dir
                ?? throw new TtrpcException(StatusCode.FailedPrecondition, $"stats {req.Id}: the container's cgroup2 directory is unknown");
            Api.CgroupsV2.Metrics v2;
            try { v2 = CgroupV2Metrics.FromDirectory(dir); }
            catch (IOException e) { throw new TtrpcException(StatusCode.NotFound, $"stats {req.Id}: {e.Message}"); }
            return new StatsResponse { Stats = new Any { TypeUrl = CgroupV2Metrics.TypeUrl, Value = v2.ToByteString() } };
        }
        var json = await c.Dune.OutputAsync(["events", "--stats", c.Id]).ConfigureAwait(false);
        var metrics = CgroupV1Metrics.FromStatsEvent(json);
        return new StatsResponse { Stats = new Any { TypeUrl = CgroupV1Metrics.TypeUrl, Value = metrics.ToByteString() } };
    }

    private Task<ConnectResponse> Connect(ConnectRequest req, TtrpcCall call)
    {
        lock (_lock)
        {
            return Task.FromResult(new ConnectResponse
            {
                ShimPid = (uint)Environment.ProcessId,
                TaskPid = (uint)(_containers.TryGetValue(req.Id, out var c) ? c.Init?.Pid ?? 0 : 0),
                Version = Version,
            });
        }
    }

    private Task<Empty> Shutdown(ShutdownRequest req, TtrpcCall call)
    {
        lock (_lock)
        {
            // The shim stays while any of its containers is still there (unless told "now").
            bool busy = _containers.Values.Any(c => !c.Deleted);
            if (busy && !req.Now) return Task.FromResult(new Empty());
        }
        requestShutdown();
        return Task.FromResult(new Empty());
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>
    /// Runs `dune ARGS ID` for a process that is being created: with its FIFOs as stdio, or,
    /// with a terminal, with --console-socket and then the master wired to the FIFOs.
    /// </summary>
    private static async Task RunWithIoAsync(ShimContainer c, List<string> args, ShimProcess p)
    {
        string id = c.Id;
        if (!p.Terminal)
        {
            using var io = Stdio.Open(p.Stdin, p.Stdout, p.Stderr);
            args.Add(id);
            await c.Dune.RunAsync(args, io).ConfigureAwait(false);
            p.HoldStdin(io.TakeStdinCopier());
            return;
        }
        using var console = ConsoleSocket.Listen();
        using var cancel = new CancellationTokenSource();
        var master = console.ReceiveMasterAsync(cancel.Token);
        args.Add("--console-socket");
        args.Add(console.Path);
        args.Add(id);
        try
        {
            await c.Dune.RunAsync(args).ConfigureAwait(false);
        }
        catch
        {
            cancel.Cancel();
            try { LibC.close(await master.ConfigureAwait(false)); } catch (Exception) { }
            throw;
        }
        int fd;
        try
        {
            fd = await master.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            cancel.Cancel();
            throw new TtrpcException(StatusCode.Internal, $"dune {args[0]} {id}: no terminal received on the console socket");
        }
        p.Tty = TerminalIo.Start(fd, p.Stdin, p.Stdout);
    }

    private void WatchOom(ShimContainer c, int pid)
    {
        string id = c.Id;
        try
        {
            if (CgroupV2Dir.HostIsUnified())
            {
                // The init's cgroup before it runs anything: the container's own, not a sub-cgroup it may move to.
                c.CgroupV2Dir = CgroupV2Dir.Of(pid);
                if (c.CgroupV2Dir is null || !MemoryEventsWatcher.Start(c.CgroupV2Dir, () => events.Publish("/tasks/oom", new TaskOOM { ContainerId = id }), log))
                    log($"task {id}: no OOM notifications (no memory.events in {c.CgroupV2Dir ?? "its cgroup2 directory"})");
                return;
            }
            var cgroup = OomWatcher.MemoryCgroupOf(pid);
            if (cgroup is null || !OomWatcher.Start(cgroup, () => events.Publish("/tasks/oom", new TaskOOM { ContainerId = id }), log))
                log($"task {id}: no OOM notifications (no cgroup v1 memory controller)");
        }
        catch (IOException e)
        {
            log($"task {id}: no OOM notifications: {e.Message}");
        }
    }

    private void Track(ShimContainer c, ShimProcess p)
    {
        var exit = reaper.Watch(p.Pid);
        _ = exit.ContinueWith(t => OnExit(c, p, t.Result), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void OnExit(ShimContainer c, ShimProcess p, ExitStatus exit)
    {
        lock (_lock)
        {
            p.Exit = exit;
            p.Phase = ProcessPhase.Stopped;
            if (p.StartAnnounced && !p.ExitAnnounced) AnnounceExit(c, p);
        }
        p.CloseStdin();
        p.Exited.TrySetResult(exit);
    }

    /// <summary>Queues TaskExit (under the lock: events keep their order).</summary>
    private void AnnounceExit(ShimContainer c, ShimProcess p)
    {
        var exit = p.Exit!.Value;
        p.ExitAnnounced = true;
        events.Publish("/tasks/exit", new TaskExit
        {
            ContainerId = c.Id,
            Id = p.IsInit ? c.Id : p.ExecId,
            Pid = (uint)p.Pid,
            ExitStatus = exit.Status,
            ExitedAt = Timestamp.FromDateTime(exit.ExitedAt),
        });
    }

    private ShimContainer ContainerOf(string id)
    {
        lock (_lock)
        {
            if (!_containers.TryGetValue(id, out var c) || c.Deleted || c.Init is null)
                throw new TtrpcException(StatusCode.NotFound, $"task {id} not found in this shim");
            return c;
        }
    }

    private (ShimContainer Container, ShimProcess Process) Find(string id, string execId)
    {
        lock (_lock)
        {
            var c = ContainerOf(id);
            if (execId.Length == 0) return (c, c.Init!);
            return c.Execs.TryGetValue(execId, out var p)
                ? (c, p)
                : throw new TtrpcException(StatusCode.NotFound, $"exec {execId} not found in task {id}");
        }
    }

    private static string Name(ShimContainer c, ShimProcess p) => p.IsInit ? c.Id : $"{c.Id}/{p.ExecId}";

    private static int ReadPid(string pidFile)
    {
        var text = File.ReadAllText(pidFile).Trim();
        return int.TryParse(text, out var pid) && pid > 0
            ? pid
            : throw new TtrpcException(StatusCode.Internal, $"pid file {pidFile} holds '{text}'");
    }

    private void TryUnmount(string rootfs)
    {
        try
        {
            RootfsMounts.Unmount(rootfs);
        }
        catch (Exception e)
        {
            log($"unmount {rootfs}: {e.Message}");
        }
    }
}
