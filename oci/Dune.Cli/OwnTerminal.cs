using Dune.Oci;
using Dune.Oci.Interop;

namespace Dune.Cli;

/// <summary>
/// A terminal served by dune itself (`run`/`exec` in the foreground with a tty and no
/// --console-socket): the container's end of a socket pair plays the console socket; we
/// receive the pty master and copy between it and our own stdin/stdout until it closes.
/// </summary>
internal sealed unsafe class OwnTerminal : IDisposable
{
    private readonly int _ours;
    private int _theirs;
    private int _master = -1;
    private byte[]? _savedTermios;

    private OwnTerminal() => (_ours, _theirs) = NativeTerminal.ConsolePair();

    /// <summary>A terminal when <paramref name="needed"/>, else null (the caller's stdio is used as is).</summary>
    public static OwnTerminal? For(bool needed) => needed ? new OwnTerminal() : null;

    /// <summary>The fd to hand to create/exec as the console socket.</summary>
    public int ContainerEnd => _theirs;

    /// <summary>After create/exec: takes the pty master and starts copying our stdin into it.</summary>
    public void Attach()
    {
        NativeTerminal.Close(_theirs);
        _theirs = -1;
        _master = NativeTerminal.ReceiveMaster(_ours);
        if (_master < 0) throw new RuntimeError("the container did not send its terminal");
        if (NativeTerminal.IsTerminal(0))
        {
            _savedTermios = NativeTerminal.MakeRaw(0);
            NativeTerminal.CopySize(0, _master);
        }
        new Thread(() => Pump(0, _master)) { IsBackground = true }.Start();
    }

    /// <summary>Waits for the process (passing on signals) while its output goes to our stdout.</summary>
    public int WaitFor(int pid)
    {
        var output = new Thread(() => Pump(_master, 1)) { IsBackground = true };
        output.Start();
        int status = ChildProcess.WaitForwardingSignals(pid);
        output.Join(TimeSpan.FromSeconds(2));
        return status;
    }

    private static void Pump(int from, int to)
    {
        var buf = new byte[16384];
        fixed (byte* p = buf)
        {
            while (true)
            {
                nint n = NativeTerminal.Read(from, p, buf.Length);
                if (n <= 0) return;
                for (nint off = 0; off < n;)
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
        if (_master >= 0) NativeTerminal.Close(_master);
        if (_theirs >= 0) NativeTerminal.Close(_theirs);
        NativeTerminal.Close(_ours);
    }
}
