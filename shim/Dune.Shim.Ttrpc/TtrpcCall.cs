using Dune.Shim.Ttrpc.Wire;

namespace Dune.Shim.Ttrpc;

/// <summary>What a handler knows about the call it serves besides its request message.</summary>
public sealed class TtrpcCall(string service, string method, IReadOnlyList<KeyValue> metadata, CancellationToken cancel)
{
    public string Service { get; } = service;
    public string Method { get; } = method;
    public IReadOnlyList<KeyValue> Metadata { get; } = metadata;

    /// <summary>Fires when the request's timeout_nano elapses or the server stops.</summary>
    public CancellationToken Cancel { get; } = cancel;

    /// <summary>The first value of a metadata key, or null.</summary>
    public string? Get(string key)
    {
        foreach (var kv in Metadata)
            if (kv.Key == key) return kv.Value;
        return null;
    }
}
