using System.Net.Sockets;
using Grpc.Net.Client;

namespace Dune.E2e.CriClient;

/// <summary>
/// A gRPC channel to containerd's unix socket: HTTP/2 without TLS (h2c), every connection
/// opened on the socket whatever host the URI names.
/// </summary>
internal static class CriChannel
{
    public static GrpcChannel Open(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancel) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancel).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = handler,
            // ExecSync output may be large; containerd caps it at 16 MiB per stream.
            MaxReceiveMessageSize = 40 * 1024 * 1024,
        });
    }
}
