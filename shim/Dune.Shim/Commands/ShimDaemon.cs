using Dune.Interop;
using Tmds.Linux;
using System.Net.Sockets;
using Dune.Shim.Events;
using Dune.Shim.Interop;
using Dune.Shim.Processes;
using Dune.Shim.Runtime;
using Dune.Shim.Service;
using Dune.Shim.Ttrpc;
using Microsoft.Extensions.Hosting;

namespace Dune.Shim.Commands;

/// <summary>
/// The daemon (`serve`, started by `start`): subreaper, event publisher and the ttrpc task
/// service on the socket inherited as fd 3, until Shutdown or SIGTERM.
/// </summary>
internal sealed class ShimDaemon(ShimOptions options, IHostApplicationLifetime lifetime, ShimLog log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The listening socket must not leak into dune and the containers it starts.
        LibC.fcntl(StartCommand.ListenerFd, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */);
        var listener = new Socket(new SafeSocketHandle(StartCommand.ListenerFd, ownsHandle: true));
        var reaper = new Reaper();
        reaper.Start();
        await using var events = new EventPublisher(options.Namespace, options.Address, options.PublishBinary,
            Environment.GetEnvironmentVariable("TTRPC_ADDRESS"), reaper, log.Write);
        events.Start();
        // The path `start` bound (the first bundle may be gone when the shim stops).
        var socketPath = ((UnixDomainSocketEndPoint)listener.LocalEndPoint!).ToString();
        var dunePath = DuneCli.Locate();
        var root = DuneCli.RootFor(options.Namespace);
        var registry = new TtrpcServiceRegistry();
        new TaskService(bundle => new DuneCli(dunePath, root, Path.Combine(bundle, "log.json"), reaper),
            reaper, events, lifetime.StopApplication, log.Write).Register(registry);
        log.Write($"serving {socketPath} for task {options.Id} (namespace {options.Namespace}) with {root}");
        try
        {
            await new TtrpcServer(listener, registry, log.Write).RunAsync(stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            if (File.Exists(socketPath)) File.Delete(socketPath);
        }
    }
}
