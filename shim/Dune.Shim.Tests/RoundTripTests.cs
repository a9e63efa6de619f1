using System.Net.Sockets;
using Dune.Shim.Ttrpc;
using Dune.Shim.Ttrpc.Wire;
using Google.Protobuf.WellKnownTypes;
using Xunit;

namespace Dune.Shim.Tests;

/// <summary>Client and server over a real unix socket.</summary>
public class RoundTripTests
{
    [Fact]
    public async Task Concurrent_calls_on_one_connection_do_not_block_each_other()
    {
        var dir = Directory.CreateTempSubdirectory("ttrpc-test");
        var path = Path.Combine(dir.FullName, "s");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var registry = new TtrpcServiceRegistry();
        registry.Register("test.Svc", "Slow", StringValue.Parser, async (req, call) =>
        {
            await release.Task.WaitAsync(call.Cancel);
            return new StringValue { Value = "slow:" + req.Value };
        });
        registry.Register("test.Svc", "Fast", StringValue.Parser, (req, call) =>
            Task.FromResult(new StringValue { Value = "fast:" + req.Value + ":" + call.Get("containerd-namespace-ttrpc") }));
        registry.Register("test.Svc", "Fail", Empty.Parser, (_, _) =>
            Task.FromException<Empty>(new TtrpcException(StatusCode.NotFound, "no such thing")));

        using var stop = new CancellationTokenSource();
        var server = new TtrpcServer(TtrpcServer.Listen(path), registry);
        var serving = server.RunAsync(stop.Token);

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        await using (var client = new TtrpcClient(new NetworkStream(socket, ownsSocket: true)))
        {
            var slow = client.CallAsync("test.Svc", "Slow", new StringValue { Value = "a" }, StringValue.Parser);
            var fast = await client.CallAsync("test.Svc", "Fast", new StringValue { Value = "b" }, StringValue.Parser,
                [new KeyValue { Key = "containerd-namespace-ttrpc", Value = "default" }]).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("fast:b:default", fast.Value);
            Assert.False(slow.IsCompleted);
            release.SetResult();
            Assert.Equal("slow:a", (await slow.WaitAsync(TimeSpan.FromSeconds(10))).Value);

            var error = await Assert.ThrowsAsync<TtrpcException>(() =>
                client.CallAsync("test.Svc", "Fail", new Empty(), Empty.Parser).WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(StatusCode.NotFound, error.Code);
            Assert.Equal("no such thing", error.Message);
        }
        stop.Cancel();
        await serving.WaitAsync(TimeSpan.FromSeconds(10));
        dir.Delete(true);
    }

    [Fact]
    public async Task A_call_that_stops_the_server_still_gets_its_answer()
    {
        var dir = Directory.CreateTempSubdirectory("ttrpc-test");
        var path = Path.Combine(dir.FullName, "s");
        using var stop = new CancellationTokenSource();
        var registry = new TtrpcServiceRegistry();
        registry.Register("test.Svc", "Shutdown", Empty.Parser, (_, _) =>
        {
            stop.Cancel();
            return Task.FromResult(new Empty());
        });
        var serving = new TtrpcServer(TtrpcServer.Listen(path), registry).RunAsync(stop.Token);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        await using (var client = new TtrpcClient(new NetworkStream(socket, ownsSocket: true)))
        {
            await client.CallAsync("test.Svc", "Shutdown", new Empty(), Empty.Parser).WaitAsync(TimeSpan.FromSeconds(10));
        }
        await serving.WaitAsync(TimeSpan.FromSeconds(10));
        dir.Delete(true);
    }
}
