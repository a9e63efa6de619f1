using System.CommandLine;
using Dune.E2e.CriClient.Cri;
using Grpc.Core;

namespace Dune.E2e.CriClient;

/// <summary>
/// The options every subcommand shares (containerd's socket, one deadline for the RPC) and
/// the run of one RPC: a hung daemon fails the step; an RPC error prints the daemon's own
/// words (the tests match on them) and exits 1.
/// </summary>
internal static class CriCall
{
    public static readonly Option<string> Socket = new("--socket") { Description = "containerd's socket", Required = true, Recursive = true };
    public static readonly Option<double> Timeout = new("--timeout") { Description = "deadline of the RPC, seconds", DefaultValueFactory = _ => 120, Recursive = true };

    public static Command Command(string name, string description, Func<ParseResult, RuntimeService.RuntimeServiceClient, CallOptions, Task> body,
        params Symbol[] symbols)
    {
        var command = new Command(name, description);
        foreach (var s in symbols)
        {
            if (s is Argument a) command.Arguments.Add(a);
            else command.Options.Add((Option)s);
        }
        command.SetAction(async (r, _) =>
        {
            using var channel = CriChannel.Open(r.GetValue(Socket)!);
            var cri = new RuntimeService.RuntimeServiceClient(channel);
            try
            {
                await body(r, cri, new CallOptions(deadline: DateTime.UtcNow + TimeSpan.FromSeconds(r.GetValue(Timeout)))).ConfigureAwait(false);
                return 0;
            }
            catch (RpcException e)
            {
                Console.Error.WriteLine($"cri-client: {name}: {e.StatusCode}: {e.Status.Detail}");
                return 1;
            }
        });
        return command;
    }
}
