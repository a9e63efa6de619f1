using System.Text.Json;

namespace Dune.Shim.Runtime;

/// <summary>An error line of dune's JSON log: its message and the errno of its cause (0: none).</summary>
internal sealed record LoggedError(string Message, int Errno);

/// <summary>Reads dune's --log-format json log (logrus's shape: level, msg, time, errno when known).</summary>
internal static class DuneLog
{
    /// <summary>The last {"level":"error"} line of the log at <paramref name="path"/>, if any.</summary>
    public static LoggedError? LastError(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        for (int i = lines.Length - 1; i >= 0; i--)
        {
            try
            {
                using var doc = JsonDocument.Parse(lines[i]);
                var line = doc.RootElement;
                if (line.ValueKind == JsonValueKind.Object &&
                    line.TryGetProperty("level", out var level) && level.ValueKind == JsonValueKind.String && level.GetString() == "error" &&
                    line.TryGetProperty("msg", out var msg) && msg.ValueKind == JsonValueKind.String)
                {
                    int errno = line.TryGetProperty("errno", out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var n) ? n : 0;
                    return new LoggedError(msg.GetString()!, errno);
                }
            }
            catch (JsonException)
            {
                // not a JSON line: skip it
            }
        }
        return null;
    }
}
