using System.CommandLine;
using System.Text;
using System.Text.Json;
using Dune.Oci;
using Dune.Oci.Cgroups;
using Dune.Oci.Lifecycle;

namespace Dune.Cli.Commands;

/// <summary>
/// `events`: JSON lines about a container: {"type":"stats",...} every --interval (once with
/// --stats) and {"type":"oom"} when the kernel OOM-kills in its cgroup. Ends when it stops.
/// </summary>
internal static class EventsCommand
{
    public static Command Build()
    {
        var cmd = new Command("events", "display container events and resource usage");
        var id = CommonArguments.ContainerId();
        var stats = new Option<bool>("--stats") { Description = "print the resource usage once and exit" };
        var interval = new Option<string>("--interval") { Description = "time between stats (e.g. 5s, 500ms)", DefaultValueFactory = _ => "5s" };
        cmd.Arguments.Add(id);
        cmd.Options.Add(stats);
        cmd.Options.Add(interval);
        cmd.SetAction(r => GlobalOptions.Invoke(r, ctx =>
        {
            var cid = r.GetValue(id)!;
            Dune.Oci.Validation.ContainerId.Validate(cid);
            var record = ctx.Store.Load(cid);
            ICgroupManager cgroup;
            try { cgroup = ContainerStatus.Cgroup(record); }
            catch (CgroupException e) { throw new RuntimeError($"events {cid}: {e.Message}"); }
            var stateDir = ctx.Store.DirOf(cid);
            if (r.GetValue(stats))
            {
                Console.WriteLine(StatsEvent(cid, cgroup, stateDir));
                return 0;
            }
            var period = ParseInterval(r.GetValue(interval)!);
            bool oomSeen = false;
            while (ContainerStatus.Of(record, ctx.Store) != ContainerStatus.Stopped)
            {
                try
                {
                    if (!oomSeen && cgroup.OomKilled())
                    {
                        oomSeen = true;
                        Console.WriteLine(Event("oom", cid, null));
                    }
                    Console.WriteLine(StatsEvent(cid, cgroup, stateDir));
                }
                catch (CgroupException) { break; } // deleted meanwhile
                Thread.Sleep(period);
            }
            return 0;
        }));
        return cmd;
    }

    /// <summary>runc's stats event; for Dune-mode containers its data also has "dune": the monitor's counters.</summary>
    private static string StatsEvent(string id, ICgroupManager cgroup, string stateDir)
    {
        try
        {
            var data = JsonSerializer.Serialize(cgroup.GetStats(), CgroupJsonContext.Default.CgroupStats);
            if (DuneFiles.ReadStats(stateDir) is { } dune)
                data = data.TrimEnd()[..^1] + ",\"dune\":" + dune + "}";
            return Event("stats", id, data);
        }
        catch (CgroupException e) { throw new RuntimeError($"events {id}: {e.Message}"); }
    }

    private static string Event(string type, string id, string? rawData)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("type", type);
            w.WriteString("id", id);
            if (rawData is not null)
            {
                w.WritePropertyName("data");
                w.WriteRawValue(rawData);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static TimeSpan ParseInterval(string s)
    {
        s = s.Trim();
        double v;
        if (s.EndsWith("ms") && double.TryParse(s[..^2], out v)) return TimeSpan.FromMilliseconds(v);
        if (s.EndsWith('s') && double.TryParse(s[..^1], out v)) return TimeSpan.FromSeconds(v);
        if (s.EndsWith('m') && double.TryParse(s[..^1], out v)) return TimeSpan.FromMinutes(v);
        if (double.TryParse(s, out v)) return TimeSpan.FromSeconds(v);
        throw new RuntimeError($"--interval: invalid duration \"{s}\"");
    }
}
