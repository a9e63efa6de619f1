using System.CommandLine;
using Dune.Oci.Interop;
using Dune.Oci.Lifecycle;

namespace Dune.Cli.Commands;

/// <summary>
/// `run`: create + start, then (unless --detach) wait and delete (kept, stopped, with --keep);
/// exits with the process's status.
/// </summary>
internal static class RunCommand
{
    public static Command Build()
    {
        var cmd = new Command("run", "create and run a container");
        var id = CommonArguments.ContainerId();
        var detach = new Option<bool>("--detach", "-d") { Description = "return after start instead of waiting" };
        var keep = new Option<bool>("--keep") { Description = "do not delete the container after it exits (it stays stopped until `delete`)" };
        var noSubreaper = new Option<bool>("--no-subreaper") { Description = "accepted for runc compatibility: dune never makes itself a child subreaper" };
        cmd.Arguments.Add(id);
        cmd.Options.Add(detach);
        cmd.Options.Add(keep);
        cmd.Options.Add(noSubreaper);
        CreateCommand.AddTo(cmd);
        cmd.SetAction(r => GlobalOptions.Invoke(r, ctx =>
        {
            var req = CreateCommand.Request(r, r.GetValue(id)!);
            bool foreground = !r.GetValue(detach);
            // A foreground run with no console socket serves a terminal itself, if the process
            // asks for one (create uses our socket pair only when process.terminal is set).
            using var tty = OwnTerminal.For(foreground && req.ConsoleSocket is null);
            var record = CreateOperation.Run(ctx, req with { OwnConsoleSocket = tty?.ContainerEnd ?? -1 });
            var terminal = record.Config.Process?.Terminal == true ? tty : null;
            try
            {
                terminal?.Attach();
                StartOperation.Run(ctx, req.Id);
            }
            catch (Dune.Oci.RuntimeError)
            {
                DeleteOperation.Run(ctx, req.Id, force: true);
                throw;
            }
            if (!foreground) return 0;
            int status = terminal?.WaitFor(record.InitPid) ?? ChildProcess.WaitForwardingSignals(record.InitPid);
            if (!r.GetValue(keep)) DeleteOperation.Run(ctx, req.Id, force: true);
            return status;
        }));
        return cmd;
    }
}
