namespace Dune.Shim.Processes;

/// <summary>How a process ended, as containerd reports it: the exit code, or 128 + the signal.</summary>
internal readonly record struct ExitStatus(uint Status, DateTime ExitedAt)
{
    /// <summary>Decodes a waitpid status word.</summary>
    public static ExitStatus FromWaitStatus(int raw, DateTime at)
    {
        int signal = raw & 0x7f;
        uint status = signal == 0 ? (uint)((raw >> 8) & 0xff) : 128u + (uint)signal;
        return new ExitStatus(status, at);
    }
}
