namespace Dune.Oci.Spec;

/// <summary>The six hook kinds of config.json, by their JSON names.</summary>
public static class HookKinds
{
    public const string Prestart = "prestart", CreateRuntime = "createRuntime", CreateContainer = "createContainer",
        StartContainer = "startContainer", Poststart = "poststart", Poststop = "poststop";

    public static IEnumerable<(string Kind, List<Hook> Hooks)> All(Hooks h)
    {
        yield return (Prestart, h.Prestart ?? new());
        yield return (CreateRuntime, h.CreateRuntime ?? new());
        yield return (CreateContainer, h.CreateContainer ?? new());
        yield return (StartContainer, h.StartContainer ?? new());
        yield return (Poststart, h.Poststart ?? new());
        yield return (Poststop, h.Poststop ?? new());
    }

    public static List<Hook> Of(Hooks? h, string kind) => h is null ? new() : All(h).First(k => k.Kind == kind).Hooks;
}
