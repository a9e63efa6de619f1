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
            (int Ours, int Theirs) pair = ownTty ? NativeTerminal.ConsolePair() : (-1, -1);
            ConsoleProxy? proxy = null;
            try
            {
                var record = CreateOperation.Run(ctx, req with { OwnConsoleSocket = pair.Theirs });
                if (ownTty)
                {
                    NativeTerminal.Close(pair.Theirs);
                    pair.Theirs = -1;
                    int master = NativeTerminal.ReceiveMaster(pair.Ours);
                    if (master < 0) throw new Dune.Oci.RuntimeError("the container did not send its terminal");
                    proxy = new ConsoleProxy(master);
                    proxy.Start();
                }
                try
                {
                    StartOperation.Run(ctx, req.Id);
                }
                catch (Dune.Oci.RuntimeError)
                {
                    DeleteOperation.Run(ctx, req.Id, force: true);
                    throw;
                }
                if (!foreground) return 0;
                var output = proxy is null ? null : new Thread(proxy.DrainOutput) { IsBackground = true };
                output?.Start();
                int status = ChildProcess.WaitForwardingSignals(record.InitPid);
                output?.Join(TimeSpan.FromSeconds(2));
                DeleteOperation.Run(ctx, req.Id, force: true);
                return status;
            }
            finally
            {
                proxy?.Dispose();
                if (pair.Ours >= 0) NativeTerminal.Close(pair.Ours);
                if (pair.Theirs >= 0) NativeTerminal.Close(pair.Theirs);
            }
        }));
        return cmd;
    }
}
