namespace Dune.Shim.Ttrpc;

/// <summary>One ttrpc frame: its header and its data.</summary>
public sealed record Frame(FrameHeader Header, byte[] Data)
{
    public uint StreamId => Header.StreamId;
    public FrameType Type => Header.Type;
}
