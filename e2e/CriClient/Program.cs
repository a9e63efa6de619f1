using Dune.E2e.CriClient;
using Dune.E2e.CriClient.Cri;
using Grpc.Core;

// cri-client --socket PATH [--timeout SECONDS] COMMAND ARGS...: one CRI call per invocation.
const string Usage = """
    usage: cri-client --socket PATH [--timeout SECONDS] COMMAND ARGS...
      version
      run-pod NAME [--handler H] [--log-dir DIR]        prints the pod sandbox id
      pod-status POD_ID                                  JSON
      stop-pod POD_ID
      rm-pod POD_ID
      create POD_ID POD_NAME NAME IMAGE [--log-dir DIR] [--env K=V]... -- CMD...   prints the container id
      start ID
      stop ID [--grace SECONDS]
      rm ID
      status ID                                          JSON (state, exitCode, pid...)
      ps POD_ID                                          "ID NAME STATE" lines
      exec-sync ID [--exec-timeout SECONDS] -- CMD...    JSON {stdout, stderr, exitCode}
    """;

string? socket = null;
double timeoutSeconds = 120;
int i = 0;
for (; i < args.Length; i++)
{
    if (args[i] == "--socket" && i + 1 < args.Length) socket = args[++i];
    else if (args[i] == "--timeout" && i + 1 < args.Length && double.TryParse(args[i + 1], out double t)) { timeoutSeconds = t; i++; }
    else if (args[i] is "-h" or "--help") { Console.WriteLine(Usage); return 0; }
    else break;
}
if (socket is null || i >= args.Length)
{
    Console.Error.WriteLine(Usage);
    return 2;
}
string command = args[i];

try
{
    var rest = CommandLine.Parse(args[(i + 1)..]);
    using var channel = CriChannel.Open(socket);
    var cri = new RuntimeService.RuntimeServiceClient(channel);
    var call = new CallContext(TimeSpan.FromSeconds(timeoutSeconds));
    return command switch
    {
        "version" => await Version(cri, rest, call),
        "run-pod" => await PodCommands.Run(cri, rest, call),
        "pod-status" => await PodCommands.Status(cri, rest, call),
        "stop-pod" => await PodCommands.Stop(cri, rest, call),
        "rm-pod" => await PodCommands.Remove(cri, rest, call),
        "create" => await ContainerCommands.Create(cri, rest, call),
        "start" => await ContainerCommands.Start(cri, rest, call),
        "stop" => await ContainerCommands.Stop(cri, rest, call),
        "rm" => await ContainerCommands.Remove(cri, rest, call),
        "status" => await ContainerCommands.Status(cri, rest, call),
        "ps" => await ContainerCommands.List(cri, rest, call),
        "exec-sync" => await ContainerCommands.ExecSync(cri, rest, call),
        _ => throw new UsageException($"unknown command {command}"),
    };
}
catch (UsageException e)
{
    Console.Error.WriteLine($"cri-client: {e.Message}");
    Console.Error.WriteLine(Usage);
    return 2;
}
catch (RpcException e)
{
    // The daemon's own words: the tests match on them.
    Console.Error.WriteLine($"cri-client: {command}: {e.StatusCode}: {e.Status.Detail}");
    return 1;
}

static async Task<int> Version(RuntimeService.RuntimeServiceClient cri, CommandLine args, CallContext call)
{
    args.AllowOnly();
    args.ExpectPositional(0, "version");
    var reply = await cri.VersionAsync(new VersionRequest { Version = "v1" }, call.Options());
    Console.WriteLine(JsonOutput.Version(reply));
    return 0;
}
