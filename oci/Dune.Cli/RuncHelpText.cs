using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Dune.Cli;

/// <summary>
/// `-h`, `--help` and `help COMMAND` in runc's layout (urfave/cli's): NAME, USAGE, then the
/// command's OPTIONS (the root's: COMMANDS and GLOBAL OPTIONS), so that what reads runc's help
/// (its second line is "runc COMMAND - ...") reads dune's the same way.
/// </summary>
internal sealed class RuncHelpText : SynchronousCommandLineAction
{
    /// <summary>Makes every -h/--help of <paramref name="root"/> print this layout.</summary>
    public static void Install(RootCommand root)
    {
        foreach (var help in root.Options.OfType<HelpOption>()) help.Action = new RuncHelpText();
    }

    public override int Invoke(ParseResult parseResult)
    {
        Write(parseResult.CommandResult.Command, Console.Out);
        return 0;
    }

    public static void Write(Command cmd, TextWriter o)
    {
        var program = Path.GetFileName(Environment.ProcessPath) is { Length: > 0 } p ? p : "dune";
        bool isRoot = cmd is RootCommand;
        var name = isRoot ? program : $"{program} {cmd.Name}";
        o.WriteLine("NAME:");
        o.WriteLine($"   {name} - {cmd.Description}");
        o.WriteLine();
        o.WriteLine("USAGE:");
        if (isRoot)
        {
            o.WriteLine($"   {name} [global options] command [command options] [arguments...]");
            o.WriteLine();
            o.WriteLine("COMMANDS:");
            Table(o, cmd.Subcommands.Where(c => !c.Hidden).Select(c => (string.Join(", ", new[] { c.Name }.Concat(c.Aliases)), c.Description ?? "")));
            o.WriteLine();
            o.WriteLine("GLOBAL OPTIONS:");
        }
        else
        {
            var args = string.Join(" ", cmd.Arguments.Where(a => !a.Hidden).Select(a => a.Arity.MinimumNumberOfValues > 0 ? $"<{a.Name}>" : a.Arity.MaximumNumberOfValues == 1 ? $"[{a.Name}]" : $"[{a.Name}...]"));
            o.WriteLine($"   {name} [command options] {args}".TrimEnd());
            o.WriteLine();
            o.WriteLine("OPTIONS:");
        }
        // A command's own flags; the global ones (recursive, from the root) only in the root's help.
        var options = isRoot ? cmd.Options : cmd.Options.Where(x => !x.Recursive);
        Table(o, options.Where(x => !x.Hidden).Select(x => (Names(x), Described(x))));
    }

    private static string Names(Option x)
    {
        if (x is HelpOption) return "--help, -h";
        var value = x.ValueType == typeof(bool) ? "" : " value";
        return string.Join(", ", new[] { x.Name }.Concat(x.Aliases.OrderByDescending(a => a.Length)).Select(n => n + value));
    }

    private static string Described(Option x)
    {
        if (x is HelpOption) return "show help";
        var text = x.Description ?? "";
        if (x.HasDefaultValue && x.ValueType != typeof(bool) && !text.Contains("default", StringComparison.Ordinal) && x.GetDefaultValue() is { } d && d.ToString() is { Length: > 0 } v)
            text += $" (default: {(x.ValueType == typeof(string) ? $"\"{v}\"" : v)})";
        return text;
    }

    private static void Table(TextWriter o, IEnumerable<(string Left, string Right)> rows)
    {
        var list = rows.ToList();
        if (list.Count == 0) return;
        int width = list.Max(r => r.Left.Length) + 2;
        foreach (var (left, right) in list) o.WriteLine($"   {left.PadRight(width)}{right}".TrimEnd());
    }
}
