using Dune.Shim;
using Dune.Shim.Commands;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

ShimOptions options;
try
{
    options = ShimOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"containerd-shim-dune-v2: {e.Message}");
    return 2;
}
var log = new ShimLog(options.Id);
if (options.Version) return InfoCommand.PrintVersion();
try
{
    if (options.Info) return await InfoCommand.RunAsync();
    switch (options.Action)
    {
        case "start":
            return StartCommand.Run(options);
        case "delete":
            return await DeleteCommand.RunAsync(options, log.Write);
        case "serve":
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Services.AddSingleton(options);
            builder.Services.AddSingleton(log);
            builder.Services.AddHostedService<ShimDaemon>();
            using (var host = builder.Build())
                await host.RunAsync();
            return 0;
        default:
            Console.Error.WriteLine("usage: containerd-shim-dune-v2 [-v | -info] -namespace NS -address A -publish-binary P -id ID [-bundle B] start|delete");
            return 2;
    }
}
catch (Exception e)
{
    Console.Error.WriteLine($"containerd-shim-dune-v2: {options.Action}: {e.Message}");
    log.Write(e.ToString());
    return 1;
}
