using System.CommandLine;
using System.Text.Json;
using Dune.Oci;
using Dune.Oci.Cgroups;
using Dune.Oci.Interop;
using Dune.Oci.Lifecycle;
using Dune.Oci.Spec;

namespace Dune.Cli.Commands;

/// <summary>`ps ID [ps options]`: the container's processes (json: their pids).</summary>
internal static class PsCommand
{
    public static Command Build()
    {
        var cmd = new Command("ps", "list the processes of a container");
        var id = CommonArguments.ContainerId();
        var psArgs = new Argument<string[]>("ps-options") { Arity = ArgumentArity.ZeroOrMore, Description = "options for ps(1), default -ef" };
        var format = new Option<string>("--format", "-f") { Description = "table or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        cmd.Arguments.Add(id);
        cmd.Arguments.Add(psArgs);
        cmd.Options.Add(format);
        cmd.SetAction(r => GlobalOptions.Invoke(r, ctx =>
        {
            var cid = r.GetValue(id)!;
            Dune.Oci.Validation.ContainerId.Validate(cid);
            IReadOnlyList<int> pids;
            using (ctx.Store.Lock(cid))
            {
                var record = ctx.Store.Load(cid);
                try { pids = ContainerStatus.Cgroup(record).GetPids(); }
                catch (CgroupException e) { throw new RuntimeError($"ps {cid}: {e.Message}"); }
            }
            if (r.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(pids.ToList(), SpecJsonContext.Default.ListInt32));
                return 0;
            }
            var options = r.GetValue(psArgs) is { Length: > 0 } a ? a : new[] { "-ef" };
            var (status, output) = CommandOutput.Run("/bin/ps", new[] { "ps" }.Concat(options).ToList());
            if (status != 0) throw new RuntimeError($"ps {string.Join(' ', options)} failed with status {status}");
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (lines.Length == 0) return 0;
            int pidColumn = Array.IndexOf(lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries), "PID");
            if (pidColumn < 0) throw new RuntimeError("ps output has no PID column");
            Console.WriteLine(lines[0]);
            var set = pids.ToHashSet();
            foreach (var line in lines.Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > pidColumn && int.TryParse(fields[pidColumn], out var pid) && set.Contains(pid))
                    Console.WriteLine(line);
            }
            return 0;
        }));
        return cmd;
    }
}
