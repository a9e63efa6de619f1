using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Dune.Oci;

/// <summary>
/// The --log file in runc's formats: json = one {"level","msg","time"} object per line
/// (containerd reads the last "error" line and shows its msg to users), text = logrus's
/// `time="..." level=debug msg="..."` lines. Errors and warnings also go to stderr as
/// "dune: ..."; with --debug and no --log the debug lines go to stderr in the chosen format,
/// as runc's do (its log defaults to stderr).
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

    /// <summary>An error line; a nonzero <paramref name="errno"/> (the system call's cause) becomes
    /// the line's "errno" field, which the shim maps to a gRPC code.</summary>
    public static void Error(string msg, int errno = 0) { Write("error", msg, errno); Console.Error.WriteLine($"dune: {msg}"); }
    public static void Warn(string msg) { Write("warning", msg); Console.Error.WriteLine($"dune: warning: {msg}"); }
    public static void DebugLine(string msg) { if (Debug) Write("debug", msg); }

    // Quotes and control characters escaped, the rest (', <, non-ASCII) as is: like Go's encoders.
    private static readonly JsonWriterOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Quoted(string msg)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, Readable)) w.WriteStringValue(msg);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void Write(string level, string msg, int errno = 0)
    {
        if (_path is null && level != "debug") return;
        var time = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ");
        string line;
        if (_json)
        {
            using var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms, Readable))
            {
                w.WriteStartObject();
                // logrus's JSON formatter writes extra fields too, keys in sorted order.
                if (errno != 0) w.WriteNumber("errno", errno);
                w.WriteString("level", level);
                w.WriteString("msg", msg);
                w.WriteString("time", time);
                w.WriteEndObject();
            }
            line = Encoding.UTF8.GetString(ms.ToArray());
        }
        else
        {
            line = $"time=\"{time}\" level={level} msg={Quoted(msg)}" + (errno != 0 ? $" errno={errno}" : "");
        }
        if (_path is null)
        {
            Console.Error.WriteLine(line);
            return;
        }
        try { File.AppendAllText(_path, line + "\n"); }
        catch (IOException) { Console.Error.WriteLine($"dune: cannot write log {_path}"); }
        catch (UnauthorizedAccessException) { Console.Error.WriteLine($"dune: cannot write log {_path}"); }
    }
}
