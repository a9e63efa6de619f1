using Google.Protobuf;

namespace Dune.Shim.Ttrpc;

/// <summary>Routes a request to its handler by (service, method); decodes and encodes protobuf.</summary>
public sealed class TtrpcServiceRegistry
{
    private delegate Task<byte[]> RawHandler(ReadOnlyMemory<byte> payload, TtrpcCall call);

    private readonly Dictionary<(string Service, string Method), RawHandler> _handlers = new();
    private readonly HashSet<string> _services = new();

    public void Register<TRequest, TResponse>(string service, string method, MessageParser<TRequest> parser,
        Func<TRequest, TtrpcCall, Task<TResponse>> handler)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        _services.Add(service);
        _handlers[(service, method)] = async (payload, call) =>
        {
            TRequest request;
            try
            {
                request = parser.ParseFrom(payload.Span);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new TtrpcException(StatusCode.InvalidArgument, $"{service}/{method}: malformed request: {e.Message}");
            }
            var response = await handler(request, call).ConfigureAwait(false);
            return response.ToByteArray();
        };
    }

    /// <summary>Runs the handler; an unknown service or method is Unimplemented, as ttrpc says.</summary>
    public Task<byte[]> InvokeAsync(string service, string method, ReadOnlyMemory<byte> payload, TtrpcCall call)
    {
        if (!_services.Contains(service))
            throw new TtrpcException(StatusCode.Unimplemented, $"service {service} is not served here");
        if (!_handlers.TryGetValue((service, method), out var handler))
            throw new TtrpcException(StatusCode.Unimplemented, $"method {service}/{method} is not served here");
        return handler(payload, call);
    }
}
