using Dune.Shim.Ttrpc;
using Dune.Shim.Ttrpc.Wire;
using Google.Protobuf.WellKnownTypes;
using Xunit;

namespace Dune.Shim.Tests;

/// <summary>
/// Frames built byte by byte from the ttrpc protocol document and protobuf's wire format,
/// fed to a server connection; its answers are compared byte for byte.
/// </summary>
public class RecordedFrameTests
{
    private static TtrpcServiceRegistry Registry()
    {
        var registry = new TtrpcServiceRegistry();
        registry.Register("test.Echo", "Upper", StringValue.Parser,
            (req, call) => Task.FromResult(new StringValue { Value = req.Value.ToUpperInvariant() + (call.Get("ns") is { } ns ? "@" + ns : "") }));
        registry.Register("test.Echo", "Forever", StringValue.Parser, async (req, call) =>
        {
            await Task.Delay(Timeout.Infinite, call.Cancel);
            return req;
        });
        return registry;
    }

    private static byte[] Bytes(params object[] parts)
    {
        var all = new List<byte>();
        foreach (var p in parts)
        {
            switch (p)
            {
                case byte[] b: all.AddRange(b); break;
                case string s: all.AddRange(System.Text.Encoding.ASCII.GetBytes(s)); break;
                case int i: all.Add((byte)i); break;
                default: throw new ArgumentException(p.GetType().Name);
            }
        }
        return all.ToArray();
    }

    // Request{service="test.Echo", method="Upper", payload=StringValue{value="hi"}}
    private static readonly byte[] UpperRequest = Bytes(
        0x0A, 9, "test.Echo",
        0x12, 5, "Upper",
        0x1A, 4, 0x0A, 2, "hi");

    private static byte[] Frame(uint stream, int type, byte[] data) =>
        Bytes(0, 0, (int)(data.Length >> 8), data.Length & 0xff,
              (int)(stream >> 24), (int)(stream >> 16) & 0xff, (int)(stream >> 8) & 0xff, (int)stream & 0xff,
              type, 0, data);

    private static async Task<byte[]> Serve(byte[] input)
    {
        var output = new MemoryStream();
        var duplex = new DuplexStream(new MemoryStream(input), output);
        await new TtrpcConnection(duplex, Registry()).RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        return output.ToArray();
    }

    private static List<(uint Stream, Response Response)> Responses(byte[] output)
    {
        var list = new List<(uint, Response)>();
        int at = 0;
        while (at < output.Length)
        {
            var h = FrameHeader.Read(output.AsSpan(at));
            Assert.Equal(FrameType.Response, h.Type);
            Assert.Equal(0, h.Flags);
            list.Add((h.StreamId, Response.Parser.ParseFrom(output.AsSpan(at + FrameHeader.Size, (int)h.Length))));
            at += FrameHeader.Size + (int)h.Length;
        }
        return list;
    }

    [Fact]
    public void Header_is_big_endian_length_stream_type_flags()
    {
        var buffer = new byte[10];
        new FrameHeader(0x0102, 0x0A0B0C0D, FrameType.Response, 0x01).WriteTo(buffer);
        Assert.Equal(new byte[] { 0, 0, 1, 2, 0x0A, 0x0B, 0x0C, 0x0D, 2, 1 }, buffer);
        Assert.Equal(new FrameHeader(0x0102, 0x0A0B0C0D, FrameType.Response, 1), FrameHeader.Read(buffer));
    }

    [Fact]
    public async Task Unary_request_gets_the_exact_response_frame()
    {
        var output = await Serve(Frame(1, 1, UpperRequest));
        // Response{status=Status{} (code OK), payload=StringValue{value="HI"}}
        var data = Bytes(0x0A, 0, 0x12, 4, 0x0A, 2, "HI");
        Assert.Equal(Frame(1, 2, data), output);
    }

    [Fact]
    public async Task Metadata_reaches_the_handler()
    {
        var request = Bytes(UpperRequest, 0x2A, 8, 0x0A, 2, "ns", 0x12, 2, "k8");
        var (stream, response) = Assert.Single(Responses(await Serve(Frame(5, 1, request))));
        Assert.Equal(5u, stream);
        Assert.Equal("HI@k8", StringValue.Parser.ParseFrom(response.Payload).Value);
    }

    [Fact]
    public async Task Unknown_service_and_method_are_unimplemented()
    {
        var noService = Bytes(0x0A, 3, "x.Y", 0x12, 5, "Upper");
        var noMethod = Bytes(0x0A, 9, "test.Echo", 0x12, 4, "Nope");
        var answers = Responses(await Serve(Bytes(Frame(1, 1, noService), Frame(3, 1, noMethod))));
        Assert.Equal(2, answers.Count);
        foreach (var (_, r) in answers)
        {
            Assert.Equal((int)StatusCode.Unimplemented, r.Status.Code);
            Assert.True(r.Payload.IsEmpty);
        }
        Assert.Contains(answers, a => a.Stream == 1 && a.Response.Status.Message.Contains("x.Y"));
        Assert.Contains(answers, a => a.Stream == 3 && a.Response.Status.Message.Contains("Nope"));
    }

    [Fact]
    public async Task Oversized_frame_is_refused_and_the_connection_goes_on()
    {
        int big = FrameHeader.MaxDataLength + 1;
        var header = Bytes(0, 0x40, 0, 1, 0, 0, 0, 7, 1, 0); // length 0x00400001
        var input = Bytes(header, new byte[big], Frame(9, 1, UpperRequest));
        var answers = Responses(await Serve(input));
        Assert.Equal(2, answers.Count);
        var refused = Assert.Single(answers, a => a.Stream == 7).Response;
        Assert.Equal((int)StatusCode.ResourceExhausted, refused.Status.Code);
        var served = Assert.Single(answers, a => a.Stream == 9).Response;
        Assert.Equal("HI", StringValue.Parser.ParseFrom(served.Payload).Value);
    }

    [Fact]
    public async Task Exactly_4_MiB_is_accepted_as_a_frame()
    {
        // A 4 MiB request whose payload field is garbage for the envelope: answered, not refused.
        var data = new byte[FrameHeader.MaxDataLength];
        data[0] = 0xFF;
        var input = Bytes(0, 0x40, 0, 0, 0, 0, 0, 1, 1, 0, data); // length 0x00400000, stream 1
        var (_, r) = Assert.Single(Responses(await Serve(input)));
        Assert.Equal((int)StatusCode.InvalidArgument, r.Status.Code);
    }

    [Fact]
    public async Task Even_stream_id_is_rejected()
    {
        var (stream, r) = Assert.Single(Responses(await Serve(Frame(2, 1, UpperRequest))));
        Assert.Equal(2u, stream);
        Assert.Equal((int)StatusCode.InvalidArgument, r.Status.Code);
    }

    [Fact]
    public async Task Timeout_nano_turns_into_deadline_exceeded()
    {
        // timeout_nano = 50 ms = 50_000_000 ns, varint 0x80 0xE1 0xEB 0x17
        var request = Bytes(0x0A, 9, "test.Echo", 0x12, 7, "Forever", 0x1A, 0, 0x20, 0x80, 0xE1, 0xEB, 0x17);
        var (_, r) = Assert.Single(Responses(await Serve(Frame(1, 1, request))));
        Assert.Equal((int)StatusCode.DeadlineExceeded, r.Status.Code);
    }

    [Fact]
    public async Task Truncated_frame_ends_the_connection_quietly()
    {
        var whole = Frame(1, 1, UpperRequest);
        var output = await Serve(Bytes(Frame(3, 1, UpperRequest), whole[..(whole.Length - 3)]));
        var (stream, r) = Assert.Single(Responses(output));
        Assert.Equal(3u, stream);
        Assert.Equal("HI", StringValue.Parser.ParseFrom(r.Payload).Value);
    }

    [Fact]
    public async Task Data_frames_are_ignored_on_unary_streams()
    {
        var output = await Serve(Bytes(Frame(1, 3, Bytes(1, 2, 3)), Frame(3, 1, UpperRequest)));
        var (stream, _) = Assert.Single(Responses(output));
        Assert.Equal(3u, stream);
    }
}

/// <summary>Reads from one stream and writes to another: a connection made of two buffers.</summary>
internal sealed class DuplexStream(Stream input, Stream output) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => output.Flush();
    public override int Read(byte[] buffer, int offset, int count) => input.Read(buffer, offset, count);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count)
    {
        lock (output) output.Write(buffer, offset, count);
    }
}
