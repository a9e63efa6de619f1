namespace Dune.Oci.State;

/// <summary>Reads /proc/PID/stat: whether a pid is still the process we started.</summary>
public static class ProcStat
{
    /// <summary>(state char, start time) of a live pid, or null when it is gone.</summary>
    public static (char State, ulong StartTime)? Read(int pid)
    {
        if (pid <= 0) return null;
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        // The command name is in parentheses and may contain spaces: parse after the last ')'.
        int close = text.LastIndexOf(')');
        if (close < 0) return null;
        var fields = text[(close + 2)..].Split(' ');
        // fields[0] is field 3 (state); start time is field 22 -> index 19.
        if (fields.Length < 20 || !ulong.TryParse(fields[19], out var start)) return null;
        return (fields[0][0], start);
    }

    /// <summary>True when pid is alive (not a zombie) and started at <paramref name="startTime"/>.</summary>
    public static bool IsAlive(int pid, ulong startTime)
    {
        var s = Read(pid);
        return s is { } v && v.State != 'Z' && v.State != 'X' && (startTime == 0 || v.StartTime == startTime);
    }
}
