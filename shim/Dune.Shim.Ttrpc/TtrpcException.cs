namespace Dune.Shim.Ttrpc;

/// <summary>
/// A call's failure as the peer sees it: thrown by a handler to answer with this status,
/// and by the client when a response carries a non-OK status.
/// </summary>
public sealed class TtrpcException(StatusCode code, string message) : Exception(message)
{
    public StatusCode Code { get; } = code;
}
