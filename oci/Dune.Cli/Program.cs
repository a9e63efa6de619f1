using Dune.Cli.Commands;

namespace Dune.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var result = DuneCommandLine.Build().Parse(ArgumentSplitter.Split(args));
        if (HelpCommand.UnknownCommand(result) is { } name) return HelpCommand.Unknown(result, name);
        return result.Invoke();
    }
}
