using Tmds.Linux;
using Dune.Interop;
using System.Net.Sockets;
using System.Threading.Channels;
using Dune.Shim.Api;
using Dune.Shim.Interop;
using Dune.Shim.Processes;
using Dune.Shim.Ttrpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Dune.Shim.Events;

/// <summary>
/// Publishes task events to containerd in the order they were queued: over ttrpc to
/// containerd's event service (Events/Forward on TTRPC_ADDRESS, which containerd sets for
/// its shims), or, without that address, by running `PUBLISH-BINARY --address A publish
/// --topic T --namespace N` with the event (a protobuf Any) on stdin.
/// </summary>
internal sealed class EventPublisher(string ns, string containerdAddress, string publishBinary,
    string? ttrpcAddress, Reaper reaper, Action<string> log) : IAsyncDisposable
{
    private const string ForwardService = "containerd.services.events.ttrpc.v1.Events";
    private readonly Channel<(string Topic, IMessage Event, DateTime At)> _queue =
        Channel.CreateUnbounded<(string, IMessage, DateTime)>(new UnboundedChannelOptions { SingleReader = true });
    private Task? _pump;
    private TtrpcClient? _client;

    public void Start() => _pump = Task.Run(PumpAsync);

    public void Publish(string topic, IMessage @event) => _queue.Writer.TryWrite((topic, @event, DateTime.UtcNow));

    /// <summary>
    /// containerd's type URL for its own messages is the bare protobuf full name. Spelled out
    /// here: protobuf's descriptors rely on reflection, which NativeAOT does not promise.
    /// </summary>
    public static Any Pack(IMessage message) => new() { TypeUrl = TypeUrl(message), Value = message.ToByteString() };

    public static string TypeUrl(IMessage message) => message switch
    {
        TaskCreate => "containerd.events.TaskCreate",
        TaskStart => "containerd.events.TaskStart",
        TaskExit => "containerd.events.TaskExit",
        TaskDelete => "containerd.events.TaskDelete",
        TaskExecAdded => "containerd.events.TaskExecAdded",
        TaskExecStarted => "containerd.events.TaskExecStarted",
        TaskPaused => "containerd.events.TaskPaused",
        TaskResumed => "containerd.events.TaskResumed",
        TaskOOM => "containerd.events.TaskOOM",
        _ => throw new ArgumentException($"not a task event: {message.GetType().Name}"),
    };

    private async Task PumpAsync()
    {
        await foreach (var (topic, ev, at) in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    await SendAsync(topic, ev, at).ConfigureAwait(false);
                    break;
                }
                catch (Exception e) when (attempt < 3)
                {
                    log($"publishing {topic} failed (attempt {attempt}): {e.Message}");
                    await DropClientAsync().ConfigureAwait(false);
                    await Task.Delay(100 * attempt).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    log($"event {topic} lost: {e.Message}");
                    await DropClientAsync().ConfigureAwait(false);
                    break;
                }
            }
        }
    }

    private async Task SendAsync(string topic, IMessage ev, DateTime at)
    {
        if (!string.IsNullOrEmpty(ttrpcAddress))
        {
            _client ??= await ConnectAsync(ttrpcAddress).ConfigureAwait(false);
            var request = new ForwardRequest
            {
                Envelope = new Envelope { Timestamp = Timestamp.FromDateTime(at), Namespace = ns, Topic = topic, Event = Pack(ev) },
            };
            await _client.CallAsync(ForwardService, "Forward", request, Empty.Parser, timeout: TimeSpan.FromSeconds(10))
                .WaitAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
            return;
        }
        await ExecPublishAsync(topic, ev).ConfigureAwait(false);
    }

    private static async Task<TtrpcClient> ConnectAsync(string address)
    {
        var path = address.StartsWith("unix://", StringComparison.Ordinal) ? address["unix://".Length..] : address;
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path)).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new TtrpcClient(new NetworkStream(socket, ownsSocket: true));
    }

    private async Task ExecPublishAsync(string topic, IMessage ev)
    {
        var (read, write) = Pipes.Create();
        Task<ExitStatus> exit;
        int devNull = PathCalls.Open("/dev/null", LibC.O_WRONLY | LibC.O_CLOEXEC, 0);
        try
        {
            (_, exit) = reaper.Spawn(publishBinary,
                [publishBinary, "--address", containerdAddress, "publish", "--topic", topic, "--namespace", ns],
                Spawner.CurrentEnvironment(), [(0, read), (1, devNull), (2, devNull)]);
        }
        finally
        {
            LibC.close(read);
            if (devNull >= 0) LibC.close(devNull);
        }
        await using (var stdin = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(write, true), FileAccess.Write, 1))
            await stdin.WriteAsync(Pack(ev).ToByteArray()).ConfigureAwait(false);
        var status = await exit.ConfigureAwait(false);
        if (status.Status != 0) throw new InvalidOperationException($"{publishBinary} publish exited with {status.Status}");
    }

    private async Task DropClientAsync()
    {
        if (_client is null) return;
        try { await _client.DisposeAsync().ConfigureAwait(false); } catch (Exception) { }
        _client = null;
    }

    /// <summary>Sends what is queued (bounded wait), then closes.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_pump is not null)
        {
            try { await _pump.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); } catch (TimeoutException) { }
        }
        await DropClientAsync().ConfigureAwait(false);
    }
}
