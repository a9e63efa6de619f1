using Dune.Oci.Interop;

namespace Dune.Cli;

/// <summary>
/// A terminal served by dune itself (`run`/`exec` with a tty and no --console-socket): we
/// receive the pty master and copy between it and our own stdin/stdout.
/// </summary>
internal sealed unsafe class ConsoleProxy : IDisposable
{
    private readonly int _master;
    private byte[]? _savedTermios;

    public ConsoleProxy(int master) => _master = master;

    public void Start()
    {
        if (NativeTerminal.IsTerminal(0))
        {
            _savedTermios = NativeTerminal.MakeRaw(0);
            NativeTerminal.CopySize(0, _master);
        }
        new Thread(() => Pump(0, _master)) { IsBackground = true }.Start();
    }

    /// <summary>Copies the program's output until the pty closes (all its holders exited).</summary>
    public void DrainOutput() => Pump(_master, 1);

    private static void Pump(int from, int to)
    {
        var buf = new byte[16384];
        fixed (byte* p = buf)
        {
            while (true)
            {
                nint n = NativeTerminal.Read(from, p, buf.Length);
                if (n <= 0) return;
                nint off = 0;
                while (off < n)
                {
                    nint w = NativeTerminal.Write(to, p + off, n - off);
                    if (w <= 0) return;
                    off += w;
                }
            }
        }
    }

    public void Dispose()
    {
        if (_savedTermios is not null) NativeTerminal.Restore(0, _savedTermios);
        NativeTerminal.Close(_master);
    }
}
