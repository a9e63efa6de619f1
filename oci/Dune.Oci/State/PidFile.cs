namespace Dune.Oci.State;

/// <summary>--pid-file: decimal digits, no newline, written atomically (containerd reads it at once).</summary>
public static class PidFile
{
    public static void Write(string path, int pid)
    {
        var full = Path.GetFullPath(path);
        var tmp = Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + ".tmp");
        File.WriteAllText(tmp, pid.ToString());
        File.Move(tmp, full, overwrite: true);
    }
}
