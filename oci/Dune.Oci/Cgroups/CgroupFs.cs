using System.Text;

namespace Dune.Oci.Cgroups;

// Plain file I/O on cgroupfs: every failure becomes a CgroupException naming the file and value.
internal static class CgroupFs
{
    /// <summary>Separators of space-separated lists such as cgroup.controllers.</summary>
    public static readonly char[] Whitespace = { ' ', '\t', '\n' };

    public static void Write(string dir, string file, string value)
    {
        string path = System.IO.Path.Combine(dir, file);
        if (!File.Exists(path))
            throw new CgroupException($"cannot write \"{value}\" to {path}: the file does not exist");
        try
        {
            // One write() of the whole value: cgroupfs parses each write on its own.
            using var handle = File.OpenHandle(path, FileMode.Truncate, FileAccess.Write, FileShare.ReadWrite);
            RandomAccess.Write(handle, Encoding.ASCII.GetBytes(value), 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CgroupException($"writing \"{value}\" to {path} failed: {e.Message}", e);
        }
    }

    public static bool Exists(string dir, string file) => File.Exists(System.IO.Path.Combine(dir, file));

    public static string Read(string dir, string file)
    {
        string path = System.IO.Path.Combine(dir, file);
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CgroupException($"reading {path} failed: {e.Message}", e);
        }
    }

    public static string? TryRead(string dir, string file)
    {
        string path = System.IO.Path.Combine(dir, file);
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static ulong ReadUInt(string dir, string file)
    {
        string text = Read(dir, file).Trim();
        return ParseUInt(text, System.IO.Path.Combine(dir, file));
    }

    /// <summary>Parses a counter; "max" reads as ulong.MaxValue, negative values (v1 "-1") as 0.</summary>
    public static ulong ParseUInt(string text, string where)
    {
        if (text == "max") return ulong.MaxValue;
        if (ulong.TryParse(text, out ulong v)) return v;
        if (long.TryParse(text, out long s) && s < 0) return 0;
        throw new CgroupException($"{where}: cannot parse \"{text}\" as an unsigned integer");
    }

    /// <summary>"key value" lines (memory.stat, cpu.stat, memory.events...) as a dictionary.</summary>
    public static Dictionary<string, ulong> ReadKeyValues(string dir, string file)
    {
        var result = new Dictionary<string, ulong>(StringComparer.Ordinal);
        string path = System.IO.Path.Combine(dir, file);
        foreach (string line in Read(dir, file).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2) continue;
            result[parts[0]] = ParseUInt(parts[1], path);
        }
        return result;
    }

    /// <summary>Creates <paramref name="leaf"/> and its missing ancestors below <paramref name="baseDir"/>, top-down; returns the dirs it created.</summary>
    public static List<string> CreateDirs(ICgroupDirOps ops, string baseDir, string leaf)
    {
        var created = new List<string>();
        for (int attempt = 1; ; attempt++)
        {
            var missing = new Stack<string>();
            for (string? d = leaf; d != null && !Directory.Exists(d); d = System.IO.Path.GetDirectoryName(d))
            {
                missing.Push(d);
                if (d == baseDir) break;
            }
            try
            {
                foreach (string d in missing)
                {
                    ops.MakeDir(d);
                    created.Add(d);
                }
                return created;
            }
            catch (DirectoryNotFoundException) when (attempt < 3)
            {
                // Another container's Destroy removed a shared ancestor between our check and our mkdir: look again.
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CgroupException($"creating cgroup directory under {baseDir} for {leaf} failed: {e.Message}", e);
            }
        }
    }

    /// <summary><paramref name="dir"/> and every directory below it, deepest first.</summary>
    public static List<string> DirsDeepestFirst(string dir)
    {
        var result = new List<string>();
        if (!Directory.Exists(dir)) return result;
        try
        {
            foreach (string sub in Directory.GetDirectories(dir))
                result.AddRange(DirsDeepestFirst(sub));
        }
        catch (DirectoryNotFoundException)
        {
            // Removed concurrently: nothing below it any more.
        }
        result.Add(dir);
        return result;
    }

    /// <summary>rmdir, retried while the kernel reports the cgroup busy (dying tasks still leaving).</summary>
    public static void RemoveDir(ICgroupDirOps ops, string dir, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        int delayMs = 5;
        while (true)
        {
            try
            {
                ops.RemoveDir(dir);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }
            catch (IOException e)
            {
                if (!Directory.Exists(dir)) return;
                if (DateTime.UtcNow >= deadline)
                    throw new CgroupException($"removing cgroup directory {dir} failed: {e.Message}", e);
            }
            Thread.Sleep(delayMs);
            delayMs = Math.Min(delayMs * 2, 100);
        }
    }

    /// <summary>The pids listed in cgroup.procs of <paramref name="dir"/> and of every cgroup below it.</summary>
    public static void CollectPids(string dir, SortedSet<int> into)
    {
        foreach (string d in DirsDeepestFirst(dir))
        {
            string? text = TryRead(d, "cgroup.procs");
            if (text == null) continue;
            foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                if (int.TryParse(line.Trim(), out int pid)) into.Add(pid);
        }
    }

    /// <summary>
    /// The cgroup.procs file of the cgroup2 cgroup PID is in, below <paramref name="mountPoint"/>, when that
    /// cgroup lies strictly below <paramref name="leaf"/>; null otherwise (or when PID is gone).
    /// </summary>
    public static string? SubCgroupProcsOf(int pid, string mountPoint, string leaf)
    {
        string? text = TryRead($"/proc/{pid}", "cgroup");
        if (text == null) return null;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.StartsWith("0::/", StringComparison.Ordinal) || line.EndsWith(" (deleted)", StringComparison.Ordinal)) continue;
            string dir = System.IO.Path.Join(mountPoint, line.Substring(3));
            return dir.StartsWith(leaf.TrimEnd('/') + "/", StringComparison.Ordinal) ? System.IO.Path.Combine(dir, "cgroup.procs") : null;
        }
        return null;
    }

    /// <summary>Writes "1" to <paramref name="dir"/>/cgroup.kill where it exists; see ICgroupManager.TryKillAll.</summary>
    public static bool TryKill(string dir)
    {
        if (!Exists(dir, "cgroup.kill")) return false;
        Write(dir, "cgroup.kill", "1");
        return true;
    }

    /// <summary>The message of a create into a cgroup someone froze beforehand (runc's words).</summary>
    public const string UnexpectedlyFrozen = "container's cgroup unexpectedly frozen";

    /// <summary>Removes <paramref name="leaf"/> and every cgroup below it, deepest first; a missing tree is fine.</summary>
    public static void RemoveTree(ICgroupDirOps ops, string leaf, TimeSpan patience)
    {
        foreach (string d in DirsDeepestFirst(leaf))
            RemoveDir(ops, d, patience);
    }

    /// <summary>Best-effort rmdir of ancestors this process created, deepest first: another container may be living below them.</summary>
    public static void RemoveIfUnused(ICgroupDirOps ops, IEnumerable<string> dirsTopDown)
    {
        foreach (string d in dirsTopDown.Reverse())
        {
            try
            {
                ops.RemoveDir(d);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // In use (or gone): its ancestors then fail the same way, harmlessly.
            }
        }
    }
}
