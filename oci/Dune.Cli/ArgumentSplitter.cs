namespace Dune.Cli;

/// <summary>
/// `dune exec ID ls -la` and `dune ps ID -ef` pass everything after the container id to the
/// program, as runc does. System.CommandLine would read "-la" as an option, so a "--" is put
/// after the id before parsing.
/// </summary>
public static class ArgumentSplitter
{
    private static readonly Dictionary<string, HashSet<string>> ValueOptions = new()
    {
        ["exec"] = new() { "--process", "-p", "--pid-file", "--console-socket", "--env", "-e", "--cwd", "--user", "-u",
                           "--additional-gids", "-g", "--cap", "-c", "--preserve-fds", "--process-label", "--apparmor", "--cgroup" },
        ["ps"] = new() { "--format", "-f" },
    };

    private static readonly HashSet<string> GlobalValueOptions = new() { "--root", "--log", "--log-format", "--rootless", "--mode", "--criu" };

    public static string[] Split(string[] args)
    {
        int i = 0;
        // Skip global options before the subcommand.
        while (i < args.Length && args[i].StartsWith('-'))
        {
            if (GlobalValueOptions.Contains(args[i])) i++;
            i++;
        }
        if (i >= args.Length || !ValueOptions.TryGetValue(args[i], out var valued)) return args;
        for (int j = i + 1; j < args.Length; j++)
        {
            var a = args[j];
            if (a == "--") return args;
            if (a.StartsWith('-'))
            {
                if (!a.Contains('=') && (valued.Contains(a) || GlobalValueOptions.Contains(a))) j++;
                continue;
            }
            // args[j] is the container id: everything after it belongs to the program.
            if (j + 1 >= args.Length) return args;
            var result = new List<string>(args[..(j + 1)]) { "--" };
            result.AddRange(args[(j + 1)..]);
            return result.ToArray();
        }
        return args;
    }
}
