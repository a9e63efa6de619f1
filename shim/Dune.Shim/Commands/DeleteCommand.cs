using Dune.Shim.Api;
using Dune.Shim.Processes;
using Dune.Shim.Runtime;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Dune.Shim.Commands;

/// <summary>
/// `delete`: containerd's cleanup when the shim is gone. Force-deletes the container with
/// dune, unmounts the bundle's rootfs and writes a DeleteResponse (killed: 128 + SIGKILL).
/// </summary>
internal static class DeleteCommand
{
    public static async Task<int> RunAsync(ShimOptions o, Action<string> log)
    {
        var root = DuneCli.RootFor(o.Namespace);
        // containerd runs this after every task, also after a clean Delete: dune keeps each
        // container's state in ROOT/ID, and without it `dune delete --force` has nothing to do.
        if (System.IO.Directory.Exists(Path.Combine(root, o.Id)))
        {
            var reaper = new Reaper();
            reaper.Start();
            var dune = new DuneCli(DuneCli.Locate(), root, Path.Combine(o.Bundle, "log.json"), reaper);
            try
            {
                await dune.RunAsync(["delete", "--force", o.Id]).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Already gone is the usual case after a crash: report and go on cleaning.
                log($"delete: {e.Message}");
            }
        }
        RootfsMounts.Unmount(Path.Combine(o.Bundle, "rootfs"));
        // A shim that died leaves its socket file; one that still serves a pod keeps it.
        var socket = SocketAddress.PathFor(o);
        if (File.Exists(socket) && !StartCommand.Answers(socket)) File.Delete(socket);
        uint pid = 0;
        var pidFile = Path.Combine(o.Bundle, "init.pid");
        if (File.Exists(pidFile) && uint.TryParse(File.ReadAllText(pidFile).Trim(), out var p)) pid = p;
        var response = new DeleteResponse { Pid = pid, ExitStatus = 128 + 9, ExitedAt = Timestamp.FromDateTime(DateTime.UtcNow) };
        using var stdout = Console.OpenStandardOutput();
        response.WriteTo(stdout);
        return 0;
    }
}
