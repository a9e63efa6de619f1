namespace Dune.Shim.Ttrpc;

/// <summary>Writes whole frames; concurrent writers (several streams answering) never interleave.</summary>
public sealed class FrameWriter(Stream stream)
{
    private readonly SemaphoreSlim _lock = new(1, 1);

    public async Task WriteAsync(uint streamId, FrameType type, byte flags, ReadOnlyMemory<byte> data, CancellationToken cancel)
    {
        if (data.Length > FrameHeader.MaxDataLength)
            throw new TtrpcException(StatusCode.ResourceExhausted,
                $"message of {data.Length} bytes exceeds the ttrpc limit of {FrameHeader.MaxDataLength}");
        var buffer = new byte[FrameHeader.Size + data.Length];
        new FrameHeader((uint)data.Length, streamId, type, flags).WriteTo(buffer);
        data.Span.CopyTo(buffer.AsSpan(FrameHeader.Size));
        await _lock.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            await stream.WriteAsync(buffer, cancel).ConfigureAwait(false);
            await stream.FlushAsync(cancel).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }
}
