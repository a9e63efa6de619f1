using System.Net.Sockets;

namespace Dune.Shim.Ttrpc;

/// <summary>Accepts connections on a listening unix socket and serves each one until it closes.</summary>
public sealed class TtrpcServer(Socket listener, TtrpcServiceRegistry registry, Action<string>? log = null)
{
    /// <summary>A listening unix stream socket at PATH (an existing socket file is replaced).</summary>
    public static Socket Listen(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            if (File.Exists(path)) File.Delete(path);
            socket.Bind(new UnixDomainSocketEndPoint(path));
            socket.Listen(16);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async Task RunAsync(CancellationToken stop)
    {
        var connections = new List<Task>();
        using var closeOnStop = stop.Register(listener.Dispose);
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (!stop.IsCancellationRequested) log?.Invoke($"ttrpc: accept failed: {e.Message}");
                break;
            }
            connections.RemoveAll(t => t.IsCompleted);
            connections.Add(ServeAsync(client, stop));
        }
        await Task.WhenAll(connections).ConfigureAwait(false);
    }

    private async Task ServeAsync(Socket client, CancellationToken stop)
    {
        await using var stream = new NetworkStream(client, ownsSocket: true);
        await new TtrpcConnection(stream, registry, log).RunAsync(stop).ConfigureAwait(false);
    }
}
