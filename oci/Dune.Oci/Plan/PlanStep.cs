using System.Buffers.Binary;
using System.Text;

namespace Dune.Oci.Plan;

/// <summary>One step of the setup plan: an op and its arguments (byte strings or u64s).</summary>
public sealed class PlanStep
{
    public PlanOp Op { get; }
    public IReadOnlyList<byte[]> Args { get; }

    public PlanStep(PlanOp op, params object[] args)
    {
        Op = op;
        Args = args.Select(Encode).ToList();
    }

    private static byte[] Encode(object arg) => arg switch
    {
        string s => Encoding.UTF8.GetBytes(s),
        byte[] b => b,
        ulong u => U64(u),
        long l => U64(unchecked((ulong)l)),
        int i => U64(unchecked((ulong)(long)i)),
        uint u => U64(u),
        _ => throw new ArgumentException($"unsupported plan argument type {arg.GetType().Name}"),
    };

    private static byte[] U64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return b;
    }

    public string StringArg(int i) => Encoding.UTF8.GetString(Args[i]);
    public ulong U64Arg(int i) => BinaryPrimitives.ReadUInt64LittleEndian(Args[i]);

    public override string ToString() =>
        $"{Op}({string.Join(", ", Args.Select(a => a.Length == 8 && a.Any(b => b < 0x20) ? BinaryPrimitives.ReadUInt64LittleEndian(a).ToString() : Encoding.UTF8.GetString(a)))})";
}
