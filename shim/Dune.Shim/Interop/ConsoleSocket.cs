using Dune.Interop;
using System.Net.Sockets;

namespace Dune.Shim.Interop;

/// <summary>
/// The --console-socket of runc's contract: a listening unix socket on which the runtime
/// sends the terminal's master fd in one SCM_RIGHTS message.
/// </summary>
internal sealed class ConsoleSocket : IDisposable
{
    private readonly Socket _listener;
    public string Path { get; }

    private ConsoleSocket(Socket listener, string path)
    {
        _listener = listener;
        Path = path;
    }

    /// <summary>A socket under /tmp (a bundle path can exceed sun_path's 108 bytes).</summary>
    public static ConsoleSocket Listen()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"dune-shim-console-{Guid.NewGuid():N}.sock");
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            socket.Listen(1);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new ConsoleSocket(socket, path);
    }

    /// <summary>Accepts the runtime's connection and returns the fd it sends (close-on-exec here).</summary>
    public async Task<int> ReceiveMasterAsync(CancellationToken cancel)
    {
        using var peer = await _listener.AcceptAsync(cancel).ConfigureAwait(false);
        peer.Blocking = true;
        return await Task.Run(() => Receive((int)peer.Handle), cancel).ConfigureAwait(false);
    }

    private static int Receive(int fd)
    {
        int master = FdPassing.Receive(fd, "recvmsg on the console socket");
        if (master < 0) throw new InvalidOperationException("the console socket received no file descriptor");
        return master;
    }

    public void Dispose() => _listener.Dispose(); // also unlinks the socket file
}
