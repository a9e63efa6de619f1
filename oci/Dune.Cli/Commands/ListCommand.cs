using System.CommandLine;
using System.Text.Json;
using Dune.Oci;
using Dune.Oci.Lifecycle;
using Dune.Oci.Spec;

namespace Dune.Cli.Commands;

/// <summary>
/// `list`: every container under --root, as runc prints them: a table, one line of JSON
/// (`null` when there are none, as runc's Go encoder writes an empty list) or ids only.
/// </summary>
internal static class ListCommand
{
    public static Command Build()
    {
        var cmd = new Command("list", "list containers");
        cmd.Aliases.Add("ls");
        var format = new Option<string>("--format", "-f") { Description = "table or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        var quiet = new Option<bool>("--quiet", "-q") { Description = "print only the ids" };
        cmd.Options.Add(format);
        cmd.Options.Add(quiet);
        cmd.SetAction(r => GlobalOptions.Invoke(r, ctx =>
        {
            var states = new List<ContainerState>();
            foreach (var id in ctx.Store.Ids())
            {
                try { states.Add(ContainerStatus.StateOf(ctx.Store.Load(id), ctx.Store)); }
                catch (RuntimeError) { } // removed meanwhile
            }
            if (r.GetValue(quiet))
            {
                foreach (var s in states) Console.WriteLine(s.Id);
            }
            else if (r.GetValue(format) == "json")
            {
                Console.WriteLine(states.Count == 0 ? "null" : JsonSerializer.Serialize(states.Select(ListedContainer.From).ToList(), CompactJson.Default.ListListedContainer));
            }
            else
            {
                var rows = new List<string[]> { new[] { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" } };
                rows.AddRange(states.Select(ListedContainer.From).Select(s => new[] { s.Id, s.Pid.ToString(), s.Status, s.Bundle, s.Created, s.Owner }));
                TextTable.Write(rows);
            }
            return 0;
        }));
        return cmd;
    }
}
