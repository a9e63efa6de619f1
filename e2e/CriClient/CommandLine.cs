namespace Dune.E2e.CriClient;

/// <summary>
/// One invocation's words: positional arguments, "--name value" options (repeatable), and
/// everything after "--" (a command line for the container, taken verbatim).
/// </summary>
internal sealed class CommandLine
{
    private readonly List<string> _positional = [];
    private readonly Dictionary<string, List<string>> _options = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Positional => _positional;
    public IReadOnlyList<string> Rest { get; }

    private CommandLine(List<string> rest) => Rest = rest;

    public static CommandLine Parse(IReadOnlyList<string> words)
    {
        var rest = new List<string>();
        var line = new CommandLine(rest);
        for (int i = 0; i < words.Count; i++)
        {
            string w = words[i];
            if (w == "--")
            {
                rest.AddRange(words.Skip(i + 1));
                break;
            }
            if (w.StartsWith("--", StringComparison.Ordinal) && w.Length > 2)
            {
                if (i + 1 >= words.Count)
                    throw new UsageException($"option {w} needs a value");
                string name = w[2..];
                if (!line._options.TryGetValue(name, out var values))
                    line._options[name] = values = [];
                values.Add(words[++i]);
                continue;
            }
            line._positional.Add(w);
        }
        return line;
    }

    public string Arg(int index, string what) =>
        index < _positional.Count ? _positional[index] : throw new UsageException($"missing {what}");

    public string? Option(string name) => _options.TryGetValue(name, out var v) ? v[^1] : null;

    public IReadOnlyList<string> Options(string name) => _options.TryGetValue(name, out var v) ? v : [];

    public long LongOption(string name, long fallback)
    {
        string? v = Option(name);
        if (v is null) return fallback;
        return long.TryParse(v, out long n) ? n : throw new UsageException($"--{name}: not a number: {v}");
    }

    /// <summary>Fails on options the command does not know, so a typo is not silently ignored.</summary>
    public void AllowOnly(params string[] names)
    {
        foreach (string name in _options.Keys)
            if (!names.Contains(name))
                throw new UsageException($"unknown option --{name}");
    }

    public void ExpectPositional(int count, string usage)
    {
        if (_positional.Count != count)
            throw new UsageException($"expected {count} argument(s): {usage}");
    }
}

internal sealed class UsageException(string message) : Exception(message);
