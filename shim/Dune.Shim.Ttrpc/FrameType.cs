namespace Dune.Shim.Ttrpc;

/// <summary>The message types of a ttrpc frame (byte 8 of the header).</summary>
public enum FrameType : byte
{
    Request = 1,
    Response = 2,
    Data = 3,
}
