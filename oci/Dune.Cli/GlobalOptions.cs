using Dune.Interop;
using System.CommandLine;
using Dune.Oci;
using Dune.Oci.Lifecycle;
using Dune.Oci.Spec;
using Dune.Oci.State;

namespace Dune.Cli;

/// <summary>runc's global flags, accepted before or after the subcommand.</summary>
public static class GlobalOptions
{
    public static readonly Option<string> Root = new("--root") { Description = "root directory for container state", DefaultValueFactory = _ => "/run/dune", Recursive = true };
    public static readonly Option<string?> Log = new("--log") { Description = "log file (default: none; errors always go to stderr)", Recursive = true };
    public static readonly Option<string> LogFormat = new("--log-format") { Description = "log format: text or json", DefaultValueFactory = _ => "text", Recursive = true };
    public static readonly Option<bool> Debug = new("--debug") { Description = "log debug output", Recursive = true };
    public static readonly Option<bool> SystemdCgroup = new("--systemd-cgroup") { Description = "use the systemd cgroup driver (needs systemd)", Recursive = true };
    public static readonly Option<string?> Rootless = new("--rootless") { Description = "ignore cgroup permission errors (true, false or auto)", Recursive = true };
    public static readonly Option<string> Mode = new("--mode") { Description = "process mode of a container without the run.dune.mode annotation: dune (Dune processes) or native (plain processes)", DefaultValueFactory = _ => DuneMode.Dune, Recursive = true };

    public static readonly Option<string?> Criu = new("--criu") { Description = "path to criu (accepted for runc compatibility: dune has no checkpoint/restore)", Recursive = true };

    public static IEnumerable<Option> All => new Option[] { Root, Log, LogFormat, Debug, SystemdCgroup, Rootless, Criu, Mode };

    static GlobalOptions()
    {
        LogFormat.AcceptOnlyFromAmong("text", "json");
        Mode.AcceptOnlyFromAmong(DuneMode.Native, DuneMode.Dune);
    }

    public static RuntimeContext Context(ParseResult r)
    {
        if (r.GetValue(SystemdCgroup) && !Directory.Exists("/run/systemd/system"))
            throw new RuntimeError("--systemd-cgroup: the systemd cgroup driver needs systemd, which is not running on this host");
        return new RuntimeContext(new StateStore(r.GetValue(Root)!), r.GetValue(SystemdCgroup), r.GetValue(Mode)!);
    }

    /// <summary>Runs a command body with the global log set up; errors become exit status <paramref name="failureStatus"/> and a log line.</summary>
    public static int Invoke(ParseResult r, Func<RuntimeContext, int> body, int failureStatus = 1)
    {
        RuntimeLog.Configure(r.GetValue(Log), r.GetValue(LogFormat)!, r.GetValue(Debug));
        if (RuntimeLog.Debug)
            RuntimeLog.DebugLine($"dune {string.Join(' ', r.Tokens.Select(t => t.Value))} (process started {System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime():HH:mm:ss.fffffff})");
        try
        {
            int status = body(Context(r));
            RuntimeLog.DebugLine($"done, exit status {status}");
            return status;
        }
        catch (NativeException e) // RuntimeError included
        {
            RuntimeLog.Error(e.Message, e.Errno);
            return failureStatus;
        }
        catch (IOException e)
        {
            RuntimeLog.Error(e.Message);
            return failureStatus;
        }
        catch (UnauthorizedAccessException e)
        {
            RuntimeLog.Error(e.Message);
            return failureStatus;
        }
        catch (Exception e)
        {
            // A bug, not bad input: still one error line in the log containerd reads.
            RuntimeLog.Error($"internal error: {e.GetType().Name}: {e.Message}");
            return failureStatus;
        }
    }
}
