namespace Dune.Oci.Spec;

/// <summary>
/// How a container's processes run: `native` (plain Linux processes, as runc runs them) or
/// `dune` (each process is a Dune process under libdune's monitor). Chosen per container by
/// the annotation run.dune.mode, else by the global --mode flag.
/// </summary>
public static class DuneMode
{
    public const string Annotation = "run.dune.mode";
    public const string Native = "native";
    public const string Dune = "dune";

    public static string FromAnnotations(IReadOnlyDictionary<string, string>? annotations, string globalDefault)
    {
        if (annotations is null || !annotations.TryGetValue(Annotation, out var v)) return Validate(globalDefault, "--mode");
        return Validate(v, $"annotation {Annotation}");
    }

    /// <summary>"true": the monitor logs every filtered call to dune-trace.log in the state dir.</summary>
    public const string TraceAnnotation = "run.dune.trace";

    /// <summary>"false": the monitor answers no call inside the guest (dune-run --no-fastcall: every
    /// system call exits to it, no call site is rewritten); default "true".</summary>
    public const string FastcallAnnotation = "run.dune.fastcall";

    /// <summary>"false": no per-container counters (dune-stats in the state dir); default "true".</summary>
    public const string StatsAnnotation = "run.dune.stats";

    public static bool Flag(IReadOnlyDictionary<string, string>? annotations, string name, bool unset)
    {
        if (annotations is null || !annotations.TryGetValue(name, out var v)) return unset;
        return v switch
        {
            "true" => true,
            "false" => false,
            _ => throw new RuntimeError($"annotation {name}: \"{v}\" must be \"true\" or \"false\""),
        };
    }

    public static string Validate(string mode, string where) => mode switch
    {
        Native or Dune => mode,
        _ => throw new RuntimeError($"{where}: unknown mode \"{mode}\" (use \"{Native}\" or \"{Dune}\")"),
    };
}
