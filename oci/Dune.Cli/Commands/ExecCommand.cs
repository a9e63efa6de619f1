using System.CommandLine;
using System.Text.Json;
using Dune.Oci;
using Dune.Oci.Interop;
using Dune.Oci.Lifecycle;
using Dune.Oci.Spec;
using Dune.Oci.Validation;

namespace Dune.Cli.Commands;

/// <summary>
/// `exec`: runs a new process in a running container (--process FILE or trailing args). As
/// runc's, a failed exec exits with status 255 (the process's own status otherwise).
/// </summary>
internal static class ExecCommand
{
    public static Command Build()
    {
        var cmd = new Command("exec", "run a new process inside a container");
        var id = CommonArguments.ContainerId();
        var args = new Argument<string[]>("command") { Arity = ArgumentArity.ZeroOrMore, Description = "program and arguments (when --process is not given)" };
        var process = new Option<string?>("--process", "-p") { Description = "path to a process.json" };
        var detach = new Option<bool>("--detach", "-d") { Description = "do not wait for the process" };
        var pidFile = CommonArguments.PidFile();
        var consoleSocket = CommonArguments.ConsoleSocket();
        var tty = new Option<bool>("--tty", "-t") { Description = "allocate a pseudo-terminal" };
        var env = new Option<string[]>("--env", "-e") { Description = "set an environment variable (NAME=value)" };
        var cwd = new Option<string?>("--cwd") { Description = "working directory in the container" };
        var user = new Option<string?>("--user", "-u") { Description = "UID[:GID]" };
        var gids = new Option<string[]>("--additional-gids", "-g") { Description = "additional group ids" };
        var caps = new Option<string[]>("--cap", "-c") { Description = "add a capability" };
        var noNewPrivs = new Option<bool>("--no-new-privs") { Description = "set no_new_privs for the process" };
        var preserve = CommonArguments.PreserveFds();
        var label = new Option<string?>("--process-label") { Description = "SELinux label (ignored: SELinux is not supported)" };
        var apparmor = new Option<string?>("--apparmor") { Description = "AppArmor profile (ignored: AppArmor is not supported)" };
        var cgroups = new Option<string[]>("--cgroup") { Description = "run the process in an existing sub-cgroup of the container's: PATH, or CONTROLLER[,CONTROLLER]:PATH (repeatable, cgroup v1)" };
        var ignorePaused = new Option<bool>("--ignore-paused") { Description = "allow exec in a paused container (the process starts when it is resumed)" };
        cmd.Arguments.Add(id);
        cmd.Arguments.Add(args);
        foreach (var o in new Option[] { process, detach, pidFile, consoleSocket, tty, env, cwd, user, gids, caps, noNewPrivs, preserve, label, apparmor, cgroups, ignorePaused })
            cmd.Options.Add(o);
        cmd.SetAction(r => GlobalOptions.Invoke(r, ctx =>
        {
            var cid = r.GetValue(id)!;
            ContainerId.Validate(cid);
            Process p;
            if (r.GetValue(process) is { } file)
            {
                p = SpecLoader.Parse(File.ReadAllBytes(file), "process.json", SpecJsonContext.Default.Process);
            }
            else
            {
                var command = r.GetValue(args) ?? Array.Empty<string>();
                if (command.Length == 0) throw new RuntimeError("exec: give a command or --process");
                p = BaseProcess(ctx, cid);
                p.Args = command.ToList();
                p.Terminal = r.GetValue(tty);
                p.ConsoleSize = null;
            }
            foreach (var e in r.GetValue(env) ?? Array.Empty<string>())
            {
                var name = e.Split('=')[0];
                p.Env = (p.Env ?? new()).Where(x => x.Split('=')[0] != name).Append(e).ToList();
            }
            if (r.GetValue(cwd) is { } dir) p.Cwd = dir;
            if (r.GetValue(user) is { } u) ParseUser(u, p.User);
            foreach (var g in r.GetValue(gids) ?? Array.Empty<string>())
                (p.User.AdditionalGids ??= new()).Add(uint.TryParse(g, out var gid) ? gid : throw new RuntimeError($"--additional-gids: invalid gid \"{g}\""));
            foreach (var c in r.GetValue(caps) ?? Array.Empty<string>())
            {
                p.Capabilities ??= new Capabilities();
                foreach (var set in new[] { p.Capabilities.Bounding ??= new(), p.Capabilities.Effective ??= new(), p.Capabilities.Permitted ??= new() })
                    if (!set.Contains(c)) set.Add(c);
            }
            if (r.GetValue(noNewPrivs)) p.NoNewPrivileges = true;

            bool detached = r.GetValue(detach);
            bool ownTty = !detached && p.Terminal && r.GetValue(consoleSocket) is null;
            using var terminal = OwnTerminal.For(ownTty);
            int pid = ExecOperation.Start(ctx, new ExecRequest
            {
                Id = cid, Process = p, Detach = detached, PidFile = r.GetValue(pidFile),
                ConsoleSocket = r.GetValue(consoleSocket), PreserveFds = r.GetValue(preserve),
                IgnorePaused = r.GetValue(ignorePaused), SubCgroups = SubCgroupPaths.Parse(r.GetValue(cgroups) ?? Array.Empty<string>()),
            }, terminal?.ContainerEnd ?? -1);
            terminal?.Attach();
            if (detached) return 0;
            return terminal?.WaitFor(pid) ?? ChildProcess.WaitForwardingSignals(pid);
        }, FailureStatus));
        return cmd;
    }

    /// <summary>runc's exit status for an exec that failed (the process did not run).</summary>
    public const int FailureStatus = 255;

    /// <summary>The container's own process as the base for an exec from trailing args (as runc).</summary>
    private static Process BaseProcess(RuntimeContext ctx, string id)
    {
        var record = ctx.Store.Load(id);
        var source = record.Config.Process ?? new Process { Cwd = "/" };
        var copy = JsonSerializer.SerializeToUtf8Bytes(source, SpecJsonContext.Default.Process);
        return JsonSerializer.Deserialize(copy, SpecJsonContext.Default.Process)!;
    }

    private static void ParseUser(string text, User user)
    {
        var parts = text.Split(':');
        if (!uint.TryParse(parts[0], out var uid) || (parts.Length > 1 && !uint.TryParse(parts[1], out _)) || parts.Length > 2)
            throw new RuntimeError($"--user: \"{text}\" must be UID or UID:GID (numbers)");
        user.Uid = uid;
        if (parts.Length > 1) user.Gid = uint.Parse(parts[1]);
    }
}
