using Dune.Oci.State;

namespace Dune.Oci.Lifecycle;

/// <summary>The global flags every command shares.</summary>
public sealed record RuntimeContext(StateStore Store, bool SystemdCgroup, string DefaultMode);
