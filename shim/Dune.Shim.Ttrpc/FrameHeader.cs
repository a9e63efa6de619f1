using System.Buffers.Binary;

namespace Dune.Shim.Ttrpc;

/// <summary>
/// The 10-byte ttrpc frame header: data length (u32 big-endian), stream id (u32
/// big-endian), message type (u8), flags (u8).
/// </summary>
public readonly record struct FrameHeader(uint Length, uint StreamId, FrameType Type, byte Flags)
{
    public const int Size = 10;

    /// <summary>The largest data length a peer may send (4 MiB).</summary>
    public const int MaxDataLength = 4 << 20;

    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
            throw new ArgumentException("a frame header needs 10 bytes", nameof(destination));
        BinaryPrimitives.WriteUInt32BigEndian(destination, Length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], StreamId);
        destination[8] = (byte)Type;
        destination[9] = Flags;
    }

    public static FrameHeader Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size)
            throw new ArgumentException("a frame header needs 10 bytes", nameof(source));
        return new FrameHeader(
            BinaryPrimitives.ReadUInt32BigEndian(source),
            BinaryPrimitives.ReadUInt32BigEndian(source[4..]),
            (FrameType)source[8],
            source[9]);
    }
}
