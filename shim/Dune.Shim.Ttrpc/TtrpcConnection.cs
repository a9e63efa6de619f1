using Dune.Shim.Ttrpc.Wire;
using Google.Protobuf;
using WireStatus = Dune.Shim.Ttrpc.Wire.Status;

namespace Dune.Shim.Ttrpc;

/// <summary>
/// Serves one client connection: reads frames, runs each request (odd stream id) as its own
/// task so that a slow call (Wait) never blocks the others, and answers with one Response
/// frame per stream.
/// </summary>
public sealed class TtrpcConnection(Stream stream, TtrpcServiceRegistry registry, Action<string>? log = null)
{
    private readonly FrameWriter _writer = new(stream);

    public async Task RunAsync(CancellationToken stop)
    {
        var reader = new FrameReader(stream);
        var calls = new List<Task>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var (frame, oversized) = await reader.ReadAsync(stop).ConfigureAwait(false);
                if (frame is null) break;
                calls.RemoveAll(t => t.IsCompleted);
                if (oversized)
                {
                    calls.Add(AnswerErrorAsync(frame.StreamId, StatusCode.ResourceExhausted,
                        $"frame of {frame.Header.Length} bytes exceeds the ttrpc limit of {FrameHeader.MaxDataLength}"));
                    continue;
                }
                if (frame.Type != FrameType.Request)
                {
                    // Unary calls only: data frames have no stream to join here.
                    log?.Invoke($"ttrpc: ignoring frame of type {(byte)frame.Type} on stream {frame.StreamId}");
                    continue;
                }
                if (frame.StreamId % 2 == 0)
                {
                    calls.Add(AnswerErrorAsync(frame.StreamId, StatusCode.InvalidArgument,
                        $"stream id {frame.StreamId} is even: client streams use odd ids"));
                    continue;
                }
                calls.Add(ServeAsync(frame, stop));
            }
        }
        catch (Exception e) when (e is IOException or TtrpcProtocolException or OperationCanceledException or ObjectDisposedException)
        {
            log?.Invoke($"ttrpc: connection ends: {e.Message}");
        }
        try
        {
            await Task.WhenAll(calls).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            log?.Invoke($"ttrpc: a call failed after its connection ended: {e.Message}");
        }
    }

    private async Task ServeAsync(Frame frame, CancellationToken stop)
    {
        Request request;
        try
        {
            request = Request.Parser.ParseFrom(frame.Data);
        }
        catch (InvalidProtocolBufferException e)
        {
            await AnswerErrorAsync(frame.StreamId, StatusCode.InvalidArgument, $"malformed ttrpc request: {e.Message}").ConfigureAwait(false);
            return;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        if (request.TimeoutNano > 0)
            timeout.CancelAfter(TimeSpan.FromTicks(Math.Max(1, request.TimeoutNano / 100)));
        var call = new TtrpcCall(request.Service, request.Method, request.Metadata, timeout.Token);
        Response response;
        try
        {
            // Yield first: the read loop must not run the handler's synchronous part.
            await Task.Yield();
            var payload = await registry.InvokeAsync(request.Service, request.Method, request.Payload.Memory, call).ConfigureAwait(false);
            response = new Response { Status = new WireStatus { Code = (int)StatusCode.Ok }, Payload = ByteString.CopyFrom(payload) };
        }
        catch (TtrpcException e)
        {
            response = ErrorResponse(e.Code, e.Message);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !stop.IsCancellationRequested)
        {
            response = ErrorResponse(StatusCode.DeadlineExceeded, $"{request.Service}/{request.Method}: deadline exceeded");
        }
        catch (Exception e)
        {
            log?.Invoke($"ttrpc: {request.Service}/{request.Method} failed: {e}");
            response = ErrorResponse(StatusCode.Unknown, e.Message);
        }
        await SendAsync(frame.StreamId, response).ConfigureAwait(false);
    }

    private static Response ErrorResponse(StatusCode code, string message) =>
        new() { Status = new WireStatus { Code = (int)code, Message = message } };

    private Task AnswerErrorAsync(uint streamId, StatusCode code, string message) =>
        SendAsync(streamId, ErrorResponse(code, message));

    /// <summary>
    /// Answers are written even while the server stops: a call that stops it (Shutdown) must
    /// still get its response, and the connection is closed only after its calls are answered.
    /// </summary>
    private async Task SendAsync(uint streamId, Response response)
    {
        try
        {
            await _writer.WriteAsync(streamId, FrameType.Response, 0, response.ToByteArray(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (TtrpcException e)
        {
            // The answer itself is too large: say so instead.
            await _writer.WriteAsync(streamId, FrameType.Response, 0, ErrorResponse(e.Code, e.Message).ToByteArray(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            log?.Invoke($"ttrpc: answer on stream {streamId} lost: {e.Message}");
        }
    }
}
