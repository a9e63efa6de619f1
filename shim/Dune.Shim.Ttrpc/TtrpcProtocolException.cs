namespace Dune.Shim.Ttrpc;

/// <summary>The peer broke the framing (truncated header or data): the connection ends.</summary>
public sealed class TtrpcProtocolException(string message) : Exception(message);
