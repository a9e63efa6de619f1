namespace Dune.Oci.Linux;

/// <summary>process.rlimits[].type names and their RLIMIT_* numbers.</summary>
public static class RlimitNames
{
    private static readonly string[] Names =
    {
        "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
        "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
        "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
    };

    public static int Number(string name) => Array.IndexOf(Names, name);
}
