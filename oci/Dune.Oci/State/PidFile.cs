namespace Dune.Oci.State;

/// <summary>--pid-file: decimal digits, no newline, written atomically (containerd reads it at once).</summary>
public static class PidFile
{
    /// <exception cref="RuntimeError">The file cannot be written (e.g. its directory is missing); the caller undoes what it made.</exception>
    public static void Write(string path, int pid)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        var tmp = Path.Combine(dir, "." + Path.GetFileName(full) + ".tmp");
        try
        {
            File.WriteAllText(tmp, pid.ToString());
            File.Move(tmp, full, overwrite: true);
        }
        catch (DirectoryNotFoundException)
        {
            throw new RuntimeError($"cannot write --pid-file {full}: directory {dir}: no such file or directory");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            throw new RuntimeError($"cannot write --pid-file {full}: {e.Message}");
        }
    }
}
