namespace Dune.Cli;

public static class Program
{
    public static int Main(string[] args) => DuneCommandLine.Build().Parse(ArgumentSplitter.Split(args)).Invoke();
}
