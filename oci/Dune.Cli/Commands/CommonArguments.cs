using System.CommandLine;

namespace Dune.Cli.Commands;

internal static class CommonArguments
{
    public static Argument<string> ContainerId() => new("container-id") { Description = "the container's id" };

    public static Option<string> Bundle() => new("--bundle", "-b") { Description = "path to the bundle directory (default: the current directory)", DefaultValueFactory = _ => "." };
    public static Option<string?> PidFile() => new("--pid-file") { Description = "file to write the process id to" };
    public static Option<string?> ConsoleSocket() => new("--console-socket") { Description = "AF_UNIX socket that receives the pty master" };
    public static Option<int> PreserveFds() => new("--preserve-fds") { Description = "number of extra fds (from 3) to pass to the process", DefaultValueFactory = _ => 0 };
}
