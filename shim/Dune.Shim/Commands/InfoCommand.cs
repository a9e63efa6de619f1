using Dune.Interop;
using Tmds.Linux;
using Dune.Shim.Api;
using Dune.Shim.Interop;
using Dune.Shim.Processes;
using Dune.Shim.Runtime;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Dune.Shim.Commands;

/// <summary>`-v` (human-readable version) and `-info` (a protobuf RuntimeInfo on stdout).</summary>
internal static class InfoCommand
{
    public const string RuntimeName = "io.containerd.dune.v2";
    public const string FeaturesTypeUrl = "types.containerd.io/opencontainers/runtime-spec/1/features/Features";

    public static int PrintVersion()
    {
        Console.WriteLine("containerd-shim-dune-v2:");
        Console.WriteLine($"  Version: {Service.TaskService.Version}");
        Console.WriteLine($"  Runtime: .NET {Environment.Version} (NativeAOT)");
        return 0;
    }

    public static async Task<int> RunAsync()
    {
        var reaper = new Reaper();
        reaper.Start();
        var dune = new DuneCli(DuneCli.Locate(), "/run/dune", "/dev/null", reaper);
        var features = await dune.OutputAsync(["features"]).ConfigureAwait(false);
        var info = new RuntimeInfo
        {
            Name = RuntimeName,
            Version = new RuntimeVersion { Version = Service.TaskService.Version },
            Features = new Any { TypeUrl = FeaturesTypeUrl, Value = ByteString.CopyFromUtf8(features.Trim()) },
        };
        // The options containerd may send on stdin come back as they are.
        if (LibC.isatty(0) == 0)
        {
            using var stdin = Console.OpenStandardInput();
            using var buffer = new MemoryStream();
            await stdin.CopyToAsync(buffer).ConfigureAwait(false);
            if (buffer.Length > 0) info.Options = Any.Parser.ParseFrom(buffer.ToArray());
        }
        using var stdout = Console.OpenStandardOutput();
        info.WriteTo(stdout);
        return 0;
    }
}
