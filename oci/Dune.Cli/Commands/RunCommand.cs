using System.CommandLine;
using Dune.Oci.Interop;
using Dune.Oci.Lifecycle;

namespace Dune.Cli.Commands;

/// <summary>`run`: create + start, then (unless --detach) wait and delete; exits with the process's status.</summary>
internal static class RunCommand
{
    public static Command Build()
    {
        var cmd = new Command("run", "create and run a container");
        var id = CommonArguments.ContainerId();
        var detach = new Option<bool>("--detach", "-d") { Description = "return after start instead of waiting" };
        cmd.Arguments.Add(id);
        cmd.Options.Add(detach);
        CreateCommand.AddTo(cmd);
        cmd.SetAction(r => GlobalOptions.Invoke(r, ctx =>
        {
            var req = CreateCommand.Request(r, r.GetValue(id)!);
            bool foreground = !r.GetValue(detach);
            // A foreground run with a terminal and no console socket serves the pty itself.
            var spec = Dune.Oci.Validation.SpecLoader.LoadBundle(Path.GetFullPath(req.Bundle));
            bool ownTty = foreground && req.ConsoleSocket is null && spec.Process?.Terminal == true;
            using var tty = OwnTerminal.For(ownTty);
            var record = CreateOperation.Run(ctx, req with { OwnConsoleSocket = tty?.ContainerEnd ?? -1 });
            try
            {
                tty?.Attach();
                StartOperation.Run(ctx, req.Id);
            }
            catch (Dune.Oci.RuntimeError)
            {
                DeleteOperation.Run(ctx, req.Id, force: true);
                throw;
            }
            if (!foreground) return 0;
            int status = tty?.WaitFor(record.InitPid) ?? ChildProcess.WaitForwardingSignals(record.InitPid);
            DeleteOperation.Run(ctx, req.Id, force: true);
            return status;
        }));
        return cmd;
    }
}
