using Dune.Shim.Runtime;

namespace Dune.Shim.Processes;

/// <summary>Where a process of the task stands, as the shim tracks it.</summary>
internal enum ProcessPhase { Created, Running, Paused, Stopped }

/// <summary>
/// One process of the task: the init (ExecId "") or an exec'd process. Mutable fields are
/// guarded by the task service's lock; Exited completes once, when the reaper saw it die.
/// </summary>
internal sealed class ShimProcess(string execId, string stdin, string stdout, string stderr, bool terminal)
{
    public string ExecId { get; } = execId;
    public bool IsInit => ExecId.Length == 0;
    public string Stdin { get; } = stdin;
    public string Stdout { get; } = stdout;
    public string Stderr { get; } = stderr;
    public bool Terminal { get; } = terminal;

    public int Pid { get; set; }
    public ProcessPhase Phase { get; set; } = ProcessPhase.Created;
    public ExitStatus? Exit { get; set; }

    /// <summary>TaskStart / TaskExecStarted is queued: a TaskExit may follow it.</summary>
    public bool StartAnnounced { get; set; }
    public bool ExitAnnounced { get; set; }

    /// <summary>exec only: the OCI process (JSON) containerd sent with Exec.</summary>
    public byte[]? ProcessSpec { get; init; }

    public TaskCompletionSource<ExitStatus> Exited { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private StdinCopier? _stdin;

    public void HoldStdin(StdinCopier? copier) => _stdin = copier;

    /// <summary>The terminal, for a process started with one.</summary>
    public TerminalIo? Tty { get; set; }

    /// <summary>Ends the stdin copy: the process reads end-of-file (or, on a terminal, no more input).</summary>
    public void CloseStdin()
    {
        Interlocked.Exchange(ref _stdin, null)?.Close();
        Tty?.CloseStdin();
    }
}
