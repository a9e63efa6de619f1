using Dune.Interop;
using Tmds.Linux;
using System.Net.Sockets;
using System.Text;
using Tmds.DBus.Protocol;

namespace Dune.Oci.Cgroups.Systemd;

/// <summary>
/// Connection setup for systemd's private socket (/run/systemd/private), a direct connection to
/// pid 1 without a bus daemon. systemd's server side of the D-Bus handshake drops a message that
/// arrives in the same read as the handshake's closing "BEGIN" (measured with systemd 252: a
/// client that sends BEGIN and its first call back to back gets no answer, about every other
/// time). systemd's own clients send BEGIN together with AUTH, before they wait for the
/// server's OK, so BEGIN is always processed before their first message arrives; this stream
/// does the same for Tmds.DBus.Protocol, which otherwise sends BEGIN after the OK and its first
/// call right after. Everything else is passed through unchanged.
/// </summary>
internal sealed class SystemdPrivateSocket : DBusConnectionOptions
{
    private readonly string _path;

    public SystemdPrivateSocket(string path) => _path = path;

    protected override ValueTask<SetupResult> SetupAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(_path));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return ValueTask.FromResult(new SetupResult
        {
            ConnectionStream = new BeginWithAuthStream(new NetworkStream(socket, ownsSocket: true)),
            UserId = ((uint)LibC.geteuid()).ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    /// <summary>Sends "BEGIN" right after the client's AUTH line and drops the client's own later BEGIN.</summary>
    private sealed class BeginWithAuthStream : Stream
    {
        private static readonly byte[] Begin = Encoding.ASCII.GetBytes("BEGIN\r\n");
        private readonly Stream _inner;
        private bool _begun;

        public BeginWithAuthStream(Stream inner) => _inner = inner;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            _inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) =>
            WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_begun && StartsWith(buffer.Span, "AUTH "u8) && buffer.Span.EndsWith("\r\n"u8))
            {
                _begun = true;
                var both = new byte[buffer.Length + Begin.Length];
                buffer.CopyTo(both);
                Begin.CopyTo(both, buffer.Length);
                await _inner.WriteAsync(both, cancellationToken).ConfigureAwait(false);
                return;
            }
            if (_begun && buffer.Span.SequenceEqual(Begin)) return;
            await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        private static bool StartsWith(ReadOnlySpan<byte> data, ReadOnlySpan<byte> prefix) => data.StartsWith(prefix);

        public override void Flush() => _inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
