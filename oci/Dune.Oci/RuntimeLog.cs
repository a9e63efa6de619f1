using System.Text;
using System.Text.Json;

namespace Dune.Oci;

/// <summary>
/// The --log file in runc's formats: json = one {"level","msg","time"} object per line
/// (containerd reads the last "error" line and shows its msg to users), text = logfmt-like lines.
/// Errors and warnings also go to stderr.
/// </summary>
public static class RuntimeLog
{
    private static string? _path;
    private static bool _json;
    public static bool Debug { get; private set; }

    public static void Configure(string? path, string format, bool debug)
    {
        _path = string.IsNullOrEmpty(path) ? null : path;
        _json = format == "json";
        Debug = debug;
    }

    public static void Error(string msg) { Write("error", msg); Console.Error.WriteLine($"dune: {msg}"); }
    public static void Warn(string msg) { Write("warning", msg); Console.Error.WriteLine($"dune: warning: {msg}"); }
    public static void DebugLine(string msg) { if (Debug) Write("debug", msg); }

    private static void Write(string level, string msg)
    {
        if (_path is null) return;
        var time = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ");
        string line;
        if (_json)
        {
            using var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms))
            {
                w.WriteStartObject();
                w.WriteString("level", level);
                w.WriteString("msg", msg);
                w.WriteString("time", time);
                w.WriteEndObject();
            }
            line = Encoding.UTF8.GetString(ms.ToArray());
        }
        else
        {
            line = $"time=\"{time}\" level={level} msg={JsonSerializer.Serialize(msg, Spec.SpecJsonContext.Default.String)}";
        }
        try { File.AppendAllText(_path, line + "\n"); }
        catch (IOException) { Console.Error.WriteLine($"dune: cannot write log {_path}"); }
        catch (UnauthorizedAccessException) { Console.Error.WriteLine($"dune: cannot write log {_path}"); }
    }
}
