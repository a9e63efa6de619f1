using Tmds.Linux;
using Dune.Interop;
using System.Net.Sockets;
using Dune.Shim.Interop;
using Dune.Shim.Ttrpc;

namespace Dune.Shim.Commands;

/// <summary>
/// `start`: containerd runs it in the bundle and reads the address from stdout. It binds the
/// socket, re-executes this binary as the daemon (`serve`, new session, the listening socket
/// as fd 3, stderr on the bundle's `log` FIFO that containerd reads), writes the `address`
/// file containerd uses to reconnect, prints the address and exits.
/// </summary>
internal static class StartCommand
{
    public const int ListenerFd = 3;

    public static int Run(ShimOptions o)
    {
        var path = SocketAddress.PathFor(o);
        System.IO.Directory.CreateDirectory(SocketAddress.Directory);
        if (File.Exists(path))
        {
            if (Answers(path))
            {
                // A shim already serves this task (containerd retried start): reuse it.
                Announce(o, path);
                return 0;
            }
            File.Delete(path);
        }
        // Never disposed: .NET unlinks the socket file when the Socket that bound it is
        // disposed, and the file must outlive this process. The fd dies with us.
        var listener = TtrpcServer.Listen(path);
        int devNull = PathCalls.Open("/dev/null", LibC.O_RDWR | LibC.O_CLOEXEC, 0);
        int logFd = OpenLogFifo(Path.Combine(o.Bundle, "log"));
        try
        {
            var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find my own executable");
            var argv = new List<string> { self };
            foreach (var a in o.Raw) argv.Add(a == "start" ? "serve" : a);
            Spawner.Spawn(self, argv, Spawner.CurrentEnvironment(),
                [(0, devNull), (1, devNull), (2, logFd >= 0 ? logFd : devNull), (ListenerFd, (int)listener.Handle)],
                newSession: true);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
        finally
        {
            LibC.close(devNull);
            if (logFd >= 0) LibC.close(logFd);
        }
        Announce(o, path);
        GC.KeepAlive(listener);
        return 0;
    }

    private static void Announce(ShimOptions o, string path)
    {
        var address = SocketAddress.Uri(path);
        File.WriteAllText(Path.Combine(o.Bundle, "address"), address);
        Console.Out.Write(address);
        Console.Out.Flush();
    }

    public static bool Answers(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>containerd's reader of the shim log; without one the daemon logs nowhere.</summary>
    private static int OpenLogFifo(string path)
    {
        int fd = PathCalls.Open(path, LibC.O_WRONLY | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0);
        if (fd < 0) return -1;
        int flags = LibC.fcntl(fd, LibC.F_GETFL, 0);
        if (flags >= 0) LibC.fcntl(fd, LibC.F_SETFL, flags & ~LibC.O_NONBLOCK);
        return fd;
    }
}
