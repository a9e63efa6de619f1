using Grpc.Core;

namespace Dune.E2e.CriClient;

/// <summary>Per-call options: every RPC gets the same deadline, so a hung daemon fails the step.</summary>
internal sealed class CallContext(TimeSpan timeout)
{
    public CallOptions Options() => new(deadline: DateTime.UtcNow + timeout);
}
