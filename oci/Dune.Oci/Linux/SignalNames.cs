namespace Dune.Oci.Linux;

/// <summary>Signal names as `kill` accepts them: "TERM", "SIGTERM", "term" or "15".</summary>
public static class SignalNames
{
    private static readonly string[] Names =
    {
        "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
        "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU",
        "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    };

    public const int SIGKILL = 9, SIGTERM = 15, SIGCONT = 18, SIGWINCH = 28;

    public static int Parse(string text)
    {
        var s = text.Trim();
        if (int.TryParse(s, out int n))
        {
            if (n > 0 && n <= 64) return n;
            throw new RuntimeError($"invalid signal number {n}");
        }
        s = s.ToUpperInvariant();
        if (s.StartsWith("SIG")) s = s[3..];
        if (s == "IOT") s = "ABRT";
        if (s == "POLL") s = "IO";
        if (s == "CLD") s = "CHLD";
        if (s.StartsWith("RTMIN")) return 34 + RtOffset(s[5..], text);
        if (s.StartsWith("RTMAX")) return 64 - RtOffset(s[5..], text);
        int i = Array.IndexOf(Names, s);
        if (i > 0) return i;
        throw new RuntimeError($"unknown signal \"{text}\"");
    }

    private static int RtOffset(string rest, string text)
    {
        if (rest.Length == 0) return 0;
        if ((rest[0] == '+' || rest[0] == '-') && int.TryParse(rest[1..], out int k) && k >= 0 && k <= 30)
            return k;
        throw new RuntimeError($"unknown signal \"{text}\"");
    }
}
