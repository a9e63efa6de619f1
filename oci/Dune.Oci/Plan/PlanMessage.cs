using System.Buffers.Binary;

namespace Dune.Oci.Plan;

/// <summary>One datagram on the plan socket: kind, op, arguments.</summary>
public sealed record PlanMessage(PlanMessageKind Kind, uint Op, IReadOnlyList<byte[]> Args)
{
    public byte[] Encode()
    {
        int size = 12 + Args.Sum(a => 4 + a.Length);
        var buf = new byte[size];
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(0), (uint)Kind);
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(4), Op);
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(8), (uint)Args.Count);
        int pos = 12;
        foreach (var a in Args)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(pos), (uint)a.Length);
            a.CopyTo(buf, pos + 4);
            pos += 4 + a.Length;
        }
        return buf;
    }

    public static PlanMessage Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < 12) throw new RuntimeError($"dune-init sent a truncated message ({data.Length} bytes)");
        var kind = (PlanMessageKind)BinaryPrimitives.ReadUInt32LittleEndian(data);
        uint op = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        uint n = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
        var args = new List<byte[]>();
        int pos = 12;
        for (uint i = 0; i < n; i++)
        {
            if (pos + 4 > data.Length) throw new RuntimeError("dune-init sent a malformed message");
            int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(data[pos..]);
            if (len < 0 || pos + 4 + len > data.Length) throw new RuntimeError("dune-init sent a malformed message");
            args.Add(data.Slice(pos + 4, len).ToArray());
            pos += 4 + len;
        }
        return new PlanMessage(kind, op, args);
    }

    public ulong U64(int i) => BinaryPrimitives.ReadUInt64LittleEndian(Args[i]);
    public string Str(int i) => System.Text.Encoding.UTF8.GetString(Args[i]);
}
