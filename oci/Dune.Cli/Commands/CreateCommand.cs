using System.CommandLine;
using Dune.Oci.Lifecycle;

namespace Dune.Cli.Commands;

/// <summary>`create`: sets the container up; its process waits for `start`.</summary>
internal static class CreateCommand
{
    public static readonly Option<string> Bundle = CommonArguments.Bundle();
    public static readonly Option<string?> PidFile = CommonArguments.PidFile();
    public static readonly Option<string?> ConsoleSocket = CommonArguments.ConsoleSocket();
    public static readonly Option<bool> NoPivot = new("--no-pivot") { Description = "use MS_MOVE + chroot instead of pivot_root (for ramdisk roots)" };
    public static readonly Option<bool> NoNewKeyring = new("--no-new-keyring") { Description = "keep the caller's session keyring" };
    public static readonly Option<int> PreserveFds = CommonArguments.PreserveFds();

    public static void AddTo(Command cmd)
    {
        foreach (var o in new Option[] { Bundle, PidFile, ConsoleSocket, NoPivot, NoNewKeyring, PreserveFds }) cmd.Options.Add(o);
    }

    public static CreateRequest Request(ParseResult r, string id) => new()
    {
        Id = id,
        Bundle = r.GetValue(Bundle)!,
        PidFile = r.GetValue(PidFile),
        ConsoleSocket = r.GetValue(ConsoleSocket),
        NoPivot = r.GetValue(NoPivot),
        NoNewKeyring = r.GetValue(NoNewKeyring),
        PreserveFds = r.GetValue(PreserveFds),
    };

    public static Command Build()
    {
        var cmd = new Command("create", "create a container");
        var id = CommonArguments.ContainerId();
        cmd.Arguments.Add(id);
        AddTo(cmd);
        cmd.SetAction(r => GlobalOptions.Invoke(r, ctx =>
        {
            CreateOperation.Run(ctx, Request(r, r.GetValue(id)!));
            return 0;
        }));
        return cmd;
    }
}
