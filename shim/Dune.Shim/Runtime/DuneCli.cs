using Tmds.Linux;
using Dune.Interop;
using System.Text;
using Dune.Shim.Interop;
using Dune.Shim.Processes;
using Dune.Shim.Ttrpc;

namespace Dune.Shim.Runtime;

/// <summary>
/// Runs the `dune` CLI as runc's shim runs runc: global flags --root, --log (in the bundle)
/// and --log-format json; a failure is reported with the last error line of that log, its gRPC
/// code from the errno that line carries.
/// </summary>
internal sealed class DuneCli(string dunePath, string root, string logPath, Reaper reaper)
{
    public string Root => root;

    /// <summary>`dune` beside this executable, else the first one on PATH.</summary>
    public static string Locate()
    {
        var self = Environment.ProcessPath;
        if (self is not null)
        {
            var beside = Path.Combine(Path.GetDirectoryName(self)!, "dune");
            if (File.Exists(beside)) return beside;
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin").Split(':'))
        {
            if (dir.Length == 0) continue;
            var candidate = Path.Combine(dir, "dune");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("dune not found beside containerd-shim-dune-v2 or on PATH");
    }

    /// <summary>runc's shim convention: one runtime root per containerd namespace.</summary>
    public static string RootFor(string ns) => Path.Combine("/run/containerd/runc", ns);

    /// <summary>Runs `dune ARGS`; stdio defaults to /dev/null. Throws with dune's own message on failure.</summary>
    public async Task RunAsync(IReadOnlyList<string> args, Stdio? stdio = null)
    {
        using var devNull = stdio is null ? Stdio.DevNull() : null;
        var io = stdio ?? devNull!;
        var (_, exit) = reaper.Spawn(dunePath, Argv(args), Spawner.CurrentEnvironment(),
            [(0, io.In), (1, io.Out), (2, io.Err)]);
        var status = await exit.ConfigureAwait(false);
        if (status.Status != 0) throw Failure(args, status.Status, null);
    }

    /// <summary>Runs `dune ARGS` and returns its standard output.</summary>
    public async Task<string> OutputAsync(IReadOnlyList<string> args)
    {
        var (read, write) = Pipes.Create();
        using var devNull = Stdio.DevNull();
        Task<ExitStatus> exit;
        try
        {
            (_, exit) = reaper.Spawn(dunePath, Argv(args), Spawner.CurrentEnvironment(),
                [(0, devNull.In), (1, write), (2, devNull.Err)]);
        }
        finally
        {
            LibC.close(write);
        }
        string output;
        await using (var stream = Pipes.ReaderStream(read))
        using (var text = new StreamReader(stream, Encoding.UTF8))
            output = await text.ReadToEndAsync().ConfigureAwait(false);
        var status = await exit.ConfigureAwait(false);
        if (status.Status != 0) throw Failure(args, status.Status, output);
        return output;
    }

    private List<string> Argv(IReadOnlyList<string> args)
    {
        var argv = new List<string> { "dune", "--root", root, "--log", logPath, "--log-format", "json" };
        argv.AddRange(args);
        return argv;
    }

    private TtrpcException Failure(IReadOnlyList<string> args, uint status, string? output)
    {
        var logged = DuneLog.LastError(logPath);
        var message = logged?.Message ?? output?.Trim() ?? "";
        var command = args.Count > 0 ? args[0] : "";
        var text = $"dune {command} failed (exit status {status})" + (message.Length > 0 ? $": {message}" : "");
        return new TtrpcException(ErrnoStatus.Of(logged?.Errno ?? 0), text);
    }
}
