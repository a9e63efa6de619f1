namespace Dune.Shim.Ttrpc;

/// <summary>Reads frames from a stream. Oversized data is skipped and reported, not buffered.</summary>
public sealed class FrameReader(Stream stream)
{
    private readonly byte[] _header = new byte[FrameHeader.Size];

    /// <summary>
    /// The next frame, or null at a clean end of stream (between frames). A frame whose
    /// length exceeds 4 MiB comes back with <see cref="Oversized"/> set and no data:
    /// its bytes are consumed so that the connection stays usable.
    /// </summary>
    public async Task<(Frame? Frame, bool Oversized)> ReadAsync(CancellationToken cancel)
    {
        if (!await ReadExactlyOrEndAsync(_header, cancel).ConfigureAwait(false))
            return (null, false);
        var header = FrameHeader.Read(_header);
        if (header.Length > FrameHeader.MaxDataLength)
        {
            await SkipAsync(header.Length, cancel).ConfigureAwait(false);
            return (new Frame(header, []), true);
        }
        var data = new byte[header.Length];
        if (data.Length > 0 && !await ReadExactlyOrEndAsync(data, cancel).ConfigureAwait(false))
            throw new TtrpcProtocolException($"stream ended inside the data of a frame on stream {header.StreamId}");
        return (new Frame(header, data), false);
    }

    private async Task<bool> ReadExactlyOrEndAsync(Memory<byte> buffer, CancellationToken cancel)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer[done..], cancel).ConfigureAwait(false);
            if (n == 0)
            {
                if (done == 0) return false;
                throw new TtrpcProtocolException($"stream ended after {done} of {buffer.Length} bytes");
            }
            done += n;
        }
        return true;
    }

    private async Task SkipAsync(uint length, CancellationToken cancel)
    {
        var scratch = new byte[64 * 1024];
        long left = length;
        while (left > 0)
        {
            int n = await stream.ReadAsync(scratch.AsMemory(0, (int)Math.Min(left, scratch.Length)), cancel).ConfigureAwait(false);
            if (n == 0) throw new TtrpcProtocolException("stream ended inside an oversized frame");
            left -= n;
        }
    }
}
