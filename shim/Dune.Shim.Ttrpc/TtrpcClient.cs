using System.Collections.Concurrent;
using Dune.Shim.Ttrpc.Wire;
using Google.Protobuf;

namespace Dune.Shim.Ttrpc;

/// <summary>
/// A unary ttrpc client over one stream: odd stream ids, one Response per Request, answers
/// matched by stream id. Used by the tests and by tools that talk to a shim.
/// </summary>
public sealed class TtrpcClient : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly FrameWriter _writer;
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<Response>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _readLoop;
    private uint _nextStream = 1;

    public TtrpcClient(Stream stream)
    {
        _stream = stream;
        _writer = new FrameWriter(stream);
        _readLoop = Task.Run(ReadLoopAsync);
    }

    public async Task<TResponse> CallAsync<TResponse>(string service, string method, IMessage request,
        MessageParser<TResponse> parser, IEnumerable<KeyValue>? metadata = null, TimeSpan? timeout = null,
        CancellationToken cancel = default)
        where TResponse : IMessage<TResponse>
    {
        uint id = Interlocked.Add(ref _nextStream, 2) - 2;
        var envelope = new Request { Service = service, Method = method, Payload = request.ToByteString() };
        if (timeout is { } t) envelope.TimeoutNano = t.Ticks * 100;
        if (metadata is not null) envelope.Metadata.AddRange(metadata);
        var answer = new TaskCompletionSource<Response>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        await _writer.WriteAsync(id, FrameType.Request, 0, envelope.ToByteArray(), cancel).ConfigureAwait(false);
        var response = await answer.Task.WaitAsync(cancel).ConfigureAwait(false);
        if (response.Status is { } status && status.Code != (int)StatusCode.Ok)
            throw new TtrpcException((StatusCode)status.Code, status.Message);
        return parser.ParseFrom(response.Payload);
    }

    private async Task ReadLoopAsync()
    {
        var reader = new FrameReader(_stream);
        Exception end = new IOException("ttrpc connection closed");
        try
        {
            while (true)
            {
                var (frame, _) = await reader.ReadAsync(_stop.Token).ConfigureAwait(false);
                if (frame is null) break;
                if (frame.Type != FrameType.Response || !_pending.TryRemove(frame.StreamId, out var waiter)) continue;
                try
                {
                    waiter.TrySetResult(Response.Parser.ParseFrom(frame.Data));
                }
                catch (InvalidProtocolBufferException e)
                {
                    waiter.TrySetException(e);
                }
            }
        }
        catch (Exception e)
        {
            end = e;
        }
        foreach (var id in _pending.Keys)
            if (_pending.TryRemove(id, out var waiter)) waiter.TrySetException(end);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _stream.DisposeAsync().ConfigureAwait(false);
        try { await _readLoop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
