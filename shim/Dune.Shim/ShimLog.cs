namespace Dune.Shim;

/// <summary>The shim's log: lines on stderr, which `start` points at containerd's log FIFO.</summary>
internal sealed class ShimLog(string id)
{
    private readonly object _lock = new();

    public void Write(string message)
    {
        lock (_lock)
        {
            try
            {
                Console.Error.WriteLine($"{DateTime.UtcNow:O} containerd-shim-dune-v2 {id}: {message}");
            }
            catch (IOException)
            {
                // nobody reads the log any more
            }
        }
    }
}
